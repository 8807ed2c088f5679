"""Pages for a partnership's decisions log, a decision (stances and outcome) and its meetings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from actionplan.models import Action
from actionplan.permissions import plans_visible_to
from commissioning.decisions import permissions, selectors, services
from commissioning.decisions.forms import DecisionFilterForm, MeetingForm, OutcomeForm, ProposalForm, StanceForm
from commissioning.decisions.models import Decision, DecisionStatus, Meeting, StanceChoice
from commissioning.models import Partnership
from kernel.concurrency import StaleEdit, conflict_rows, stale_edit_context, with_version
from kernel.downloads import csv_text
from kernel.forms import add_service_errors, posted
from kernel.markdown import render_markdown
from stakeholders.models import Membership, User
from stakeholders.permissions import require

PAGE_SIZE = 25
NAV = "commissioning"
STATUS_COLOURS = {
    DecisionStatus.PROPOSED: "blue",
    DecisionStatus.AGREED: "green",
    DecisionStatus.NOT_AGREED: "red",
    DecisionStatus.DONE: "grey",
    DecisionStatus.RESCINDED: "white",
}
STANCE_COLOURS = {
    StanceChoice.AGREE: "green",
    StanceChoice.ABSTAIN: "grey",
    StanceChoice.DISAGREE: "orange",
    StanceChoice.BLOCK: "red",
}
HELPERS = {"nav": NAV, "status_colours": STATUS_COLOURS, "stance_colours": STANCE_COLOURS}
CSV_HEADER = [
    "id",
    "title",
    "status",
    "proposed_on",
    "deadline",
    "meeting",
    "owner",
    "due_date",
    "overdue",
    "agree",
    "abstain",
    "disagree",
    "block",
    "outcome",
    "url",
]


def _partnership_or_404(slug: str) -> Partnership:
    partnership = Partnership.objects.filter(slug=slug).prefetch_related("members__organisation").first()
    if partnership is None:
        raise Http404
    return partnership


# The decisions log -------------------------------------------------------------------------


def _csv_rows(request: HttpRequest, qs: Any) -> Any:
    today = timezone.localdate()
    for d in qs:
        yield [
            d.pk,
            d.title,
            d.get_status_display(),
            timezone.localtime(d.created_at).date(),
            d.deadline or "",
            d.meeting.title if d.meeting else "",
            d.owner.name if d.owner else "",
            d.due_date or "",
            "yes" if d.is_overdue(today) else "",
            d.n_agree,
            d.n_abstain,
            d.n_disagree,
            d.n_block,
            d.outcome,
            request.build_absolute_uri(d.get_absolute_url()),
        ]


@require_GET
def decision_list(request: HttpRequest, slug: str) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    form = DecisionFilterForm(request.GET or None, partnership=partnership)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.LogFilters(
        status=data.get("status", ""),
        owner=data["owner"].pk if data.get("owner") else None,
        meeting=data["meeting"].pk if data.get("meeting") else None,
        due_before=data.get("due_before"),
        q=data.get("q", ""),
    )
    qs = selectors.decision_log(partnership, filters)
    if request.GET.get("format") == "csv":
        response = HttpResponse(csv_text(CSV_HEADER, _csv_rows(request, qs)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{partnership.slug}-decisions.csv"'
        return response
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = "csv"
    return render(
        request,
        "commissioning/decisions/list.html",
        {
            "partnership": partnership,
            "form": form,
            "page": page,
            "today": timezone.localdate(),
            "csv_query": params.urlencode(),
            "can_manage": permissions.can_manage_partnership(request.user, partnership),
            **HELPERS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_create(request: HttpRequest, slug: str) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    require(permissions.can_manage_partnership(request.user, partnership))
    initial = {"meeting": request.GET.get("meeting")} if request.GET.get("meeting", "").isdigit() else None
    form = ProposalForm(posted(request), partnership=partnership, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            decision = services.decision_propose(actor=request.user, partnership=partnership, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Proposal sent to the members: each member organisation can now record its view.")
            return redirect(decision)
    return render(
        request, "commissioning/decisions/proposal_form.html", {"form": form, "partnership": partnership, **HELPERS}
    )


# A decision ----------------------------------------------------------------------------------


def _stance_form(request: HttpRequest, decision: Decision, data: Any = None) -> StanceForm | None:
    if not permissions.can_record_stance(request.user, decision):
        return None
    orgs = permissions.stance_organisations(request.user, decision.partnership)
    mine = {s.organisation_id: s for s in decision.stances.all()}
    first = next((o for o in orgs if o.pk in mine), None)
    initial: dict[str, Any] = {}
    if first is not None:
        current = mine[first.pk]
        initial = {
            "organisation": first.pk,
            "stance": current.stance,
            "reason": current.reason,
            "preferred_option": current.preferred_option,
        }
    return StanceForm(data, organisations=orgs, decision=decision, initial=initial)


@require_http_methods(["GET", "POST"])
def decision_detail(request: HttpRequest, slug: str, decision_id: int) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    decision = permissions.get_decision_or_404(partnership, decision_id)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        require(permissions.is_member_person(request.user, partnership))
    decision = selectors.decision_page(decision)
    decision.partnership = partnership
    form = _stance_form(request, decision, posted(request))
    if request.method == "POST":
        if form is None:
            messages.error(
                request, "Views on this proposal are closed: its outcome is recorded or its deadline has passed."
            )
            return redirect(decision)
        if form.is_valid():
            try:
                services.stance_record(actor=request.user, decision=decision, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied:
                form.add_error("organisation", "You may speak only for your own member organisation.")
            else:
                messages.success(request, f"{form.cleaned_data['organisation'].name}'s view is recorded.")
                return redirect(decision)
    members = selectors.partnership_members(partnership)
    rows = selectors.stance_rows(decision, members)
    visible = set(
        plans_visible_to(request.user)
        .filter(pk__in={a.plan_id for a in decision.actions.all()})
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "commissioning/decisions/detail.html",
        {
            "partnership": partnership,
            "decision": decision,
            "text": render_markdown(decision.text, top_heading=3),
            "outcome": render_markdown(decision.outcome, top_heading=3),
            "rows": rows,
            "waiting": [r.organisation for r in rows if r.stance is None],
            "blocks": [r for r in rows if r.stance and r.stance.stance == StanceChoice.BLOCK],
            "actions": [a for a in decision.actions.all() if a.plan_id in visible],
            "form": form,
            "can_manage": permissions.can_manage_partnership(request.user, partnership),
            # Views and changes to the decision in one list, newest first.
            "history": sorted(
                [("stance", e) for e in selectors.stance_history(decision)]
                + [("decision", e) for e in selectors.decision_history(decision)],
                key=lambda entry: (entry[1].pgh_created_at, entry[1].pgh_id),
                reverse=True,
            ),
            "today": timezone.localdate(),
            **HELPERS,
        },
    )


def _linkable_actions(request: HttpRequest, partnership: Partnership) -> Any:
    return (
        Action.objects.filter(plan__in=plans_visible_to(request.user).filter(partnerships=partnership))
        .select_related("plan")
        .order_by("plan__title", "title")
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_outcome(request: HttpRequest, slug: str, decision_id: int) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    decision = permissions.get_decision_or_404(partnership, decision_id)
    require(permissions.can_manage_partnership(request.user, partnership))
    actions = _linkable_actions(request, partnership)
    form = OutcomeForm(posted(request), decision=decision, actions=actions, initial=OutcomeForm.initial_for(decision))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        expected = data.pop("version") or decision.version
        # Linked actions in plans this manager cannot see stay linked: the form could not show them.
        hidden = [a for a in decision.actions.all() if not actions.filter(pk=a.pk).exists()]
        data["actions"] = [*data["actions"], *hidden]
        try:
            services.decision_record_outcome(actor=request.user, decision=decision, expected_version=expected, **data)
        except StaleEdit as exc:
            current = Decision.objects.select_related("owner").get(pk=decision.pk)
            again = OutcomeForm(with_version(request.POST, exc.current.version), decision=current, actions=actions)
            return render(
                request,
                "commissioning/decisions/outcome_form.html",
                {
                    "form": again,
                    "partnership": partnership,
                    "decision": current,
                    **stale_edit_context(request, current, conflict_rows(form, current)),
                    **HELPERS,
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Outcome recorded: {DecisionStatus(data['status']).label.lower()}.")
            return redirect(decision)
    return render(
        request,
        "commissioning/decisions/outcome_form.html",
        {"form": form, "partnership": partnership, "decision": decision, **HELPERS},
    )


# Meetings ------------------------------------------------------------------------------------


def _member_people(partnership: Partnership) -> list[User]:
    """People of the member organisations, each labelled with their member organisations (two queries)."""
    org_ids = [m.organisation_id for m in partnership.members.all()]
    names: dict[int, list[str]] = {}
    rows = (
        Membership.objects.filter(organisation_id__in=org_ids, user__is_active=True)
        .order_by("organisation__name")
        .values_list("user_id", "organisation__name")
    )
    for user_id, org in rows:
        if org not in names.setdefault(user_id, []):
            names[user_id].append(org)
    people = list(User.objects.filter(pk__in=names).order_by("display_name"))
    for person in people:
        person.member_org_names = ", ".join(names[person.pk])
    return people


def _meeting_people(partnership: Partnership, meeting: Meeting | None) -> list[User]:
    people = _member_people(partnership)
    if meeting is not None:
        # Someone who has since left a member organisation still attended: keep them choosable.
        known = {p.pk for p in people}
        people += [u for u in meeting.attendees.all() if u.pk not in known]
    return people


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, slug: str) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    require(permissions.can_manage_partnership(request.user, partnership))
    form = MeetingForm(posted(request), people=_meeting_people(partnership, None))
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(actor=request.user, partnership=partnership, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Meeting added.")
            return redirect(meeting)
    return render(
        request,
        "commissioning/meeting_form.html",
        {"form": form, "partnership": partnership, "meeting": None, **HELPERS},
    )


@require_GET
def meeting_detail(request: HttpRequest, slug: str, meeting_id: int) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    meeting = permissions.get_meeting_or_404(partnership, meeting_id)
    meeting = selectors.meeting_page(meeting)
    member_ids = {m.organisation_id for m in partnership.members.all()}
    attendees = [
        (u, ", ".join(sorted({m.organisation.name for m in u.memberships.all() if m.organisation_id in member_ids})))
        for u in sorted(meeting.attendees.all(), key=lambda u: u.display_name)
    ]
    return render(
        request,
        "commissioning/decisions/meeting_detail.html",
        {
            "partnership": partnership,
            "meeting": meeting,
            "agenda": render_markdown(meeting.agenda, top_heading=3),
            "minutes": render_markdown(meeting.minutes, top_heading=3),
            "attendees": attendees,
            "decisions": list(meeting.decisions.all()),
            "can_manage": permissions.can_manage_partnership(request.user, partnership),
            "today": timezone.localdate(),
            **HELPERS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, slug: str, meeting_id: int) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    meeting = permissions.get_meeting_or_404(partnership, meeting_id)
    require(permissions.can_manage_partnership(request.user, partnership))
    people = _meeting_people(partnership, meeting)
    form = MeetingForm(posted(request), people=people, initial=MeetingForm.initial_for(meeting))
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or meeting.version
        try:
            services.meeting_update(
                actor=request.user, meeting=meeting, expected_version=expected, **form.service_values()
            )
        except StaleEdit as exc:
            current = Meeting.objects.prefetch_related("attendees").get(pk=meeting.pk)
            current.partnership = partnership
            again = MeetingForm(with_version(request.POST, exc.current.version), people=people)
            return render(
                request,
                "commissioning/meeting_form.html",
                {
                    "form": again,
                    "partnership": partnership,
                    "meeting": current,
                    **stale_edit_context(request, current, conflict_rows(form, current)),
                    **HELPERS,
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Meeting saved.")
            return redirect(meeting)
    return render(
        request,
        "commissioning/meeting_form.html",
        {"form": form, "partnership": partnership, "meeting": meeting, **HELPERS},
    )


__all__ = [
    "decision_create",
    "decision_detail",
    "decision_list",
    "decision_outcome",
    "meeting_create",
    "meeting_detail",
    "meeting_edit",
]
