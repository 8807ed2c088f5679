"""Pages for plans, actions, milestones, grants, My work, key steps and the evidence library.

Thin views: parse, ask ``actionplan.permissions``, call a selector or service, render.
Strangers get 404 for plans they may not see; readers get 403 when they try to write;
writes need sign-in (anonymous visitors are sent to sign in).
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from actionplan import permissions, selectors, services
from actionplan.duplicates import selectors as duplicate_selectors
from actionplan.forms import (
    ActionFilterForm,
    ActionForm,
    ActionProgressForm,
    EvidenceFilterForm,
    EvidenceForm,
    GrantForm,
    MilestoneForm,
    PlanFilterForm,
    PlanForm,
    PlanStatusForm,
    RevokeForm,
    TargetForm,
)
from actionplan.models import (
    Action,
    ActionIndicator,
    ActionStatus,
    EvidenceItem,
    KeyStep,
    Plan,
    PlanStatus,
)
from kernel.concurrency import StaleEdit, conflict_rows, last_change_was_by, stale_edit_context
from kernel.downloads import csv_cell
from kernel.forms import add_service_errors
from kernel.history import history_entries

PLANS_PAGE_SIZE = 20
MY_WORK_PAGE_SIZE = 50
EVIDENCE_PAGE_SIZE = 20
KEY_STEP_ACTIONS_PAGE_SIZE = 50

STATUS_COLOURS = {
    PlanStatus.DRAFT: "grey",
    PlanStatus.CONSULTATION: "purple",
    PlanStatus.ACTIVE: "green",
    PlanStatus.CLOSED: "white",
    ActionStatus.NOT_STARTED: "grey",
    ActionStatus.ON_TRACK: "green",
    ActionStatus.AT_RISK: "orange",
    ActionStatus.OFF_TRACK: "red",
    ActionStatus.DONE: "blue",
}
PLAN_CONFLICT_FIELDS = (
    "title",
    "summary",
    "scope",
    "lead_organisation",
    "partners",
    "period_start",
    "period_end",
    "visibility",
)
ACTION_CONFLICT_FIELDS = (
    "key_step",
    "priority_areas",
    "title",
    "description",
    "owner_organisation",
    "partners",
    "status",
    "progress",
    "start_date",
    "due_date",
    "weight",
    "dependencies",
    "indicators",
    "evidence",
)


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _rebased(request: HttpRequest, current_version: int) -> Any:
    """The user's submitted data on top of the current version, for "save my version again"."""
    data = request.POST.copy()
    data["version"] = str(current_version)
    return data


def _common(request: HttpRequest, plan: Plan) -> dict[str, Any]:
    user = request.user
    return {
        "plan": plan,
        "colours": STATUS_COLOURS,
        "today": timezone.localdate(),
        "can_change": permissions.can_change_plan(user, plan),
        "can_manage": permissions.can_manage_plan(user, plan),
        "can_comment": permissions.can_comment_on_plan(user, plan),
    }


# Plans ------------------------------------------------------------------------------------


@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    form = PlanFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    plans = selectors.plan_list(
        user=request.user,
        q=filters.get("q", ""),
        scope=filters.get("scope", ""),
        status=filters.get("status", ""),
        borough=filters.get("borough"),
        key_step=filters.get("key_step"),
        priority_area=filters.get("priority_area"),
    )
    page = Paginator(plans, PLANS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actionplan/plan_list.html",
        {
            "form": form,
            "page": page,
            "summaries": selectors.plan_summaries(page.object_list),
            "colours": STATUS_COLOURS,
            "can_create": permissions.can_create_plan(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_create_plan(request.user))
    form = PlanForm(_posted(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(
                actor=request.user, areas=form.areas, partners=form.cleaned_data["partners"], **form.values
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Plan “{plan.title}” created as a draft. Add actions under the key steps.")
            return redirect(plan)
    return render(request, "actionplan/plan_form.html", {"form": form, "plan": None})


@require_GET
def plan_detail(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug, queryset=selectors.plan_detail_queryset())
    context = _common(request, plan)
    page = selectors.plan_page(plan)
    context.update({"page": page, "tab": "plan", "statuses": ActionStatus.choices, "download_form": ActionFilterForm()})
    # Issue 23: the plan's managers see how many possible duplicates involve it (one query, theirs only).
    context["duplicates"] = (
        duplicate_selectors.candidate_count(request.user, duplicate_selectors.CandidateFilters(plan=plan.pk))
        if context["can_manage"]
        else None
    )
    return render(request, "actionplan/plan_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(
        request.user, slug, write=True, queryset=selectors.plan_detail_queryset()
    )
    form = PlanForm(_posted(request), user=request.user, plan=plan, initial=PlanForm.initial_for(plan))
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(
                actor=request.user,
                plan=plan,
                expected_version=form.cleaned_data["version"],
                values=form.values,
                areas=form.areas,
                partners=form.cleaned_data["partners"],
            )
        except StaleEdit:
            current = selectors.plan_detail_queryset().get(pk=plan.pk)
            rows = conflict_rows(form, current, PLAN_CONFLICT_FIELDS)
            again = PlanForm(_rebased(request, current.version), user=request.user, plan=current)
            again.is_valid()
            return render(
                request,
                "actionplan/plan_form.html",
                {
                    "form": again,
                    "plan": current,
                    **stale_edit_context(request, current, rows),
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Plan saved.")
            return redirect(plan)
    return render(request, "actionplan/plan_form.html", {"form": form, "plan": plan})


@login_required
@require_http_methods(["GET", "POST"])
def plan_status(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug)
    permissions.require(permissions.can_manage_plan(request.user, plan))
    allowed = services.allowed_transitions(plan)
    form = PlanStatusForm(_posted(request), allowed=allowed, initial={"version": plan.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_change_status(
                actor=request.user,
                plan=plan,
                expected_version=form.cleaned_data["version"],
                status=form.cleaned_data["status"],
            )
        except StaleEdit:
            messages.error(request, "Someone else changed the plan meanwhile. Check its status and try again.")
            return redirect("plan_status", slug=plan.slug)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"The plan is now {plan.get_status_display().lower()}.")
            return redirect(plan)
    return render(request, "actionplan/plan_status.html", {**_common(request, plan), "form": form, "tab": "plan"})


@require_GET
def plan_history(request: HttpRequest, slug: str) -> HttpResponse:
    """The plan's history tab, newest first, a page at a time (NHS.UK pagination)."""
    plan = permissions.get_plan_for_user_or_404(request.user, slug)
    page = Paginator(selectors.plan_events(plan), selectors.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actionplan/plan_history.html",
        {**_common(request, plan), "entries": history_entries(page.object_list), "page": page, "tab": "history"},
    )


@require_http_methods(["GET", "POST"])
def plan_people(request: HttpRequest, slug: str) -> HttpResponse:
    """The "people and organisations" tab: who may do what; managers change it."""
    plan = permissions.get_plan_for_user_or_404(request.user, slug)
    can_manage = permissions.can_manage_plan(request.user, plan)
    if not request.user.is_authenticated or not (can_manage or permissions.can_change_plan(request.user, plan)):
        # Who holds grants is for the plan's own team.
        permissions.require(False)
    form = GrantForm(_posted(request))
    if request.method == "POST":
        permissions.require(can_manage)
        if form.is_valid():
            try:
                services.plan_set_grant(
                    actor=request.user,
                    plan=plan,
                    level=form.cleaned_data["level"],
                    user=form.cleaned_data.get("user"),
                    organisation=form.cleaned_data.get("organisation"),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Access updated.")
                return redirect("plan_people", slug=plan.slug)
    return render(
        request,
        "actionplan/plan_people.html",
        {**_common(request, plan), "grants": selectors.plan_grants(plan), "form": form, "tab": "people"},
    )


@login_required
@require_POST
def plan_people_revoke(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug)
    permissions.require(permissions.can_manage_plan(request.user, plan))
    form = RevokeForm(request.POST)
    if form.is_valid() and (form.cleaned_data.get("user") or form.cleaned_data.get("organisation")):
        try:
            services.plan_revoke(
                actor=request.user,
                plan=plan,
                user=form.cleaned_data.get("user"),
                organisation=form.cleaned_data.get("organisation"),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Access removed.")
    else:
        messages.error(request, "Choose whose access to remove.")
    return redirect("plan_people", slug=plan.slug)


@require_GET
def plan_export_csv(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug, queryset=selectors.plan_detail_queryset())
    chosen = ActionFilterForm(request.GET)
    if not chosen.is_valid():
        wrong = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in chosen.errors.items())
        return HttpResponseBadRequest(f"Unknown filter value ({wrong})", content_type="text/plain; charset=utf-8")
    step, area = chosen.cleaned_data["key_step"], chosen.cleaned_data["priority_area"]
    page = selectors.plan_page(plan, with_figures=False)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{plan.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "key_step",
            "key_step_title",
            "priority_areas",
            "action_id",
            "action",
            "owner_organisation",
            "lead",
            "status",
            "progress",
            "weight",
            "start_date",
            "due_date",
            "overdue",
            "milestones_done",
            "milestones",
            "depends_on",
            "indicators",
        ]
    )
    for section in page.sections:
        if step is not None and section.step.pk != step.pk:
            continue
        for action in section.actions:
            if area is not None and area not in action.priority_areas.all():
                continue
            milestones = list(action.milestones.all())
            writer.writerow(
                [
                    section.step.number,
                    section.step.title,
                    "; ".join(a.slug for a in action.priority_areas.all()),
                    action.pk,
                    csv_cell(action.title),
                    csv_cell(action.owner_organisation.name),
                    csv_cell(str(action.lead or "")),
                    action.get_status_display(),
                    action.progress,
                    action.weight,
                    action.start_date or "",
                    action.due_date or "",
                    "yes" if action.is_overdue() else "no",
                    sum(1 for m in milestones if m.is_done),
                    len(milestones),
                    "; ".join(csv_cell(d.title) for d in action.dependencies.all()),
                    "; ".join(csv_cell(str(link)) for link in action.indicator_links.all()),
                ]
            )
    return response


@require_GET
def plan_print(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug, queryset=selectors.plan_detail_queryset())
    return render(
        request,
        "actionplan/plan_print.html",
        {**_common(request, plan), "page": selectors.plan_page(plan)},
    )


# Actions ----------------------------------------------------------------------------------


def _action_links(form: ActionForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "partners": data["partners"],
        "dependencies": data["dependencies"],
        "indicators": dict.fromkeys(data["indicators"]),
        "evidence": data["evidence"],
        "priority_areas": data["priority_areas"],
    }


@login_required
@require_http_methods(["GET", "POST"])
def action_create(request: HttpRequest, slug: str) -> HttpResponse:
    plan = permissions.get_plan_for_user_or_404(request.user, slug, write=True)
    step = KeyStep.objects.filter(number=request.GET.get("step") or 0).first()
    initial = {"key_step": step, "owner_organisation": plan.lead_organisation}
    form = ActionForm(_posted(request), plan=plan, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            links = _action_links(form)
            action = services.action_create(
                actor=request.user,
                plan=plan,
                key_step=form.cleaned_data["key_step"],
                title=form.cleaned_data["title"],
                owner_organisation=form.cleaned_data["owner_organisation"],
                **links,
                **{k: v for k, v in form.values.items() if k not in ("key_step", "title", "owner_organisation")},
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Action “{action.title}” added.")
            return redirect(action)
    return render(request, "actionplan/action_form.html", {**_common(request, plan), "form": form, "action": None})


def _get_action(
    request: HttpRequest, slug: str, pk: int, write: bool = False, update: bool = False
) -> tuple[Plan, Action]:
    """The action, 404 unless its plan is readable; `write` needs can_change_plan, `update` can_update_action."""
    plan = permissions.get_plan_for_user_or_404(request.user, slug)
    try:
        action = selectors.action_detail_queryset(plan).get(pk=pk)
    except Action.DoesNotExist:
        raise Http404 from None
    action.plan = plan
    if write:
        permissions.require(permissions.can_change_plan(request.user, plan))
    if update:
        permissions.require(permissions.can_update_action(request.user, action))
    return plan, action


@require_GET
def action_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk)
    return render(
        request,
        "actionplan/action_detail.html",
        {
            **_common(request, plan),
            "action": action,
            "figures": selectors.action_figures(action, plan),
            "can_update": permissions.can_update_action(request.user, action),
            "milestone_form": MilestoneForm(),
            "statuses": ActionStatus.choices,
            "tab": "action",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk, write=True)
    form = ActionForm(_posted(request), plan=plan, action=action, initial=ActionForm.initial_for(action))
    if request.method == "POST" and form.is_valid():
        targets = {link.indicator_id: link.target for link in action.indicator_links.all()}
        links = _action_links(form)
        links["indicators"] = {ind: targets.get(ind.pk) for ind in form.cleaned_data["indicators"]}
        try:
            services.action_update(
                actor=request.user,
                action=action,
                expected_version=form.cleaned_data["version"],
                values=form.values,
                **links,
            )
        except StaleEdit:
            current = selectors.action_detail_queryset(plan).get(pk=action.pk)
            rows = conflict_rows(form, current, ACTION_CONFLICT_FIELDS)
            again = ActionForm(_rebased(request, current.version), plan=plan, action=current)
            again.is_valid()
            return render(
                request,
                "actionplan/action_form.html",
                {
                    **_common(request, plan),
                    "form": again,
                    "action": current,
                    **stale_edit_context(request, current, rows),
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Action saved.")
            return redirect(action)
    return render(request, "actionplan/action_form.html", {**_common(request, plan), "form": form, "action": action})


@login_required
@require_POST
def action_progress(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The in-place status and progress edit. htmx gets the action's row back; a plain form post
    goes back to the plan page (or the conflict page when the action changed meanwhile)."""
    plan, action = _get_action(request, slug, pk, update=True)
    form = ActionProgressForm(request.POST)
    context = {**_common(request, plan), "action": action, "statuses": ActionStatus.choices}
    back = request.POST.get("next") == "action"
    if form.is_valid():
        try:
            services.action_set_progress(
                actor=request.user,
                action=action,
                expected_version=form.cleaned_data["version"],
                status=form.cleaned_data["status"],
                progress=form.cleaned_data["progress"],
                note=form.cleaned_data.get("note", ""),
            )
        except StaleEdit:
            current = selectors.action_detail_queryset(plan).get(pk=action.pk)
            current.plan = plan
            rows = conflict_rows(form, current, ("status", "progress"))
            context.update(
                {
                    "action": current,
                    "conflict_rows": rows,
                    "current": current,
                    "form": form,
                    "conflict_by_you": last_change_was_by(current, request.user),
                }
            )
            if _is_htmx(request):
                return render(request, "actionplan/_action_row.html", {**context, "conflict": True})
            return render(
                request,
                "actionplan/action_progress_conflict.html",
                {**context, "mine": form.cleaned_data},
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if _is_htmx(request):
                return render(request, "actionplan/_action_row.html", {**context, "saved": True})
            messages.success(
                request, f"“{action.title}” is now {action.get_status_display().lower()}, {action.progress}%."
            )
            if back:
                return redirect(action)
            return redirect(f"{plan.get_absolute_url()}#action-{action.pk}")
    if _is_htmx(request):
        return render(request, "actionplan/_action_row.html", {**context, "form": form}, status=422)
    return render(
        request,
        "actionplan/action_detail.html",
        {**context, "progress_form": form, "milestone_form": MilestoneForm(), "tab": "action"},
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk, write=True)
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = 0
        try:
            services.action_delete(actor=request.user, action=action, expected_version=version)
        except StaleEdit:
            messages.error(request, "Someone changed this action since you opened it. Check it before deleting.")
            return redirect(action)
        messages.success(request, f"Action “{action.title}” deleted.")
        return redirect(plan)
    return render(request, "actionplan/action_delete.html", {**_common(request, plan), "action": action})


@require_GET
def action_history(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk)
    return render(
        request,
        "actionplan/action_history.html",
        {**_common(request, plan), "action": action, "entries": selectors.action_history(action), "tab": "history"},
    )


@login_required
@require_POST
def action_target(request: HttpRequest, slug: str, pk: int, indicator: int) -> HttpResponse:
    _plan, action = _get_action(request, slug, pk, write=True)
    link = get_object_or_404(ActionIndicator, action=action, indicator_id=indicator)
    form = TargetForm(request.POST)
    if form.is_valid():
        try:
            services.action_set_target(
                actor=request.user,
                action=action,
                expected_version=int(request.POST.get("version", 0) or 0),
                link=link,
                target=form.cleaned_data["target"],
                note=form.cleaned_data["target_note"],
            )
        except StaleEdit:
            messages.error(request, "Someone changed this action meanwhile: the target was not saved. Try again.")
        else:
            messages.success(request, f"Target for “{link.indicator.name}” saved.")
    else:
        messages.error(request, "Enter the target as a number.")
    return redirect(action)


# Milestones -------------------------------------------------------------------------------


@login_required
@require_POST
def milestone_create(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk, update=True)
    form = MilestoneForm(request.POST)
    if form.is_valid():
        try:
            services.milestone_create(actor=request.user, action=action, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Milestone added.")
            return redirect(action)
    return render(
        request,
        "actionplan/action_detail.html",
        {
            **_common(request, plan),
            "action": action,
            "can_update": permissions.can_update_action(request.user, action),
            "milestone_form": form,
            "statuses": ActionStatus.choices,
            "tab": "action",
        },
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_edit(request: HttpRequest, slug: str, pk: int, milestone_pk: int) -> HttpResponse:
    plan, action = _get_action(request, slug, pk, update=True)
    milestone = permissions.get_milestone_for_user_or_404(request.user, action, milestone_pk, write=True)
    if request.method == "POST" and request.POST.get("delete"):
        services.milestone_delete(actor=request.user, milestone=milestone)
        messages.success(request, "Milestone deleted.")
        return redirect(action)
    initial = {"title": milestone.title, "due": milestone.due, "done_on": milestone.done_on}
    form = MilestoneForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.milestone_update(actor=request.user, milestone=milestone, values=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Milestone saved.")
            return redirect(action)
    return render(
        request,
        "actionplan/milestone_form.html",
        {**_common(request, plan), "action": action, "milestone": milestone, "form": form},
    )


# My work and key steps --------------------------------------------------------------------


@login_required
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    form = ActionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    actions = selectors.my_work(
        user=request.user, key_step=filters.get("key_step"), priority_area=filters.get("priority_area")
    )
    page = Paginator(actions, MY_WORK_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actionplan/my_work.html",
        {"form": form, "page": page, "colours": STATUS_COLOURS, "today": timezone.localdate()},
    )


@require_GET
def key_step_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "actionplan/key_step_list.html",
        {
            "steps": list(selectors.key_steps()),
            "counts": selectors.key_step_action_counts(user=request.user),
            "nav": "plans",
        },
    )


@require_GET
def key_step_detail(request: HttpRequest, number: int) -> HttpResponse:
    step = get_object_or_404(selectors.key_steps(), number=number)
    form = ActionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    actions = selectors.key_step_actions(step=step, user=request.user, priority_area=filters.get("priority_area"))
    page = Paginator(actions, KEY_STEP_ACTIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    # The page names the items only: no need for their tags.
    evidence = selectors.evidence_list(key_step=step).prefetch_related(None)[:10]
    return render(
        request,
        "actionplan/key_step_detail.html",
        {
            "step": step,
            "form": form,
            "page": page,
            "evidence": evidence,
            "colours": STATUS_COLOURS,
            "today": timezone.localdate(),
            "nav": "plans",
        },
    )


# Evidence ---------------------------------------------------------------------------------


@require_GET
def evidence_list(request: HttpRequest) -> HttpResponse:
    form = EvidenceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    items = selectors.evidence_list(
        q=filters.get("q", ""),
        type=filters.get("type", ""),
        key_step=filters.get("key_step"),
        priority_area=filters.get("priority_area"),
    )
    page = Paginator(items, EVIDENCE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actionplan/evidence_list.html",
        {"form": form, "page": page, "can_publish": permissions.can_publish_evidence(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def evidence_create(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_publish_evidence(request.user))
    form = EvidenceForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            item = services.evidence_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Evidence published.")
            return redirect(item)
    return render(request, "actionplan/evidence_form.html", {"form": form, "item": None})


@require_GET
def evidence_detail(request: HttpRequest, slug: str) -> HttpResponse:
    item = get_object_or_404(
        EvidenceItem.objects.select_related("organisation", "published_by").prefetch_related(
            Prefetch("key_steps", queryset=KeyStep.objects.order_by("number")), selectors.priority_areas_prefetch()
        ),
        slug=slug,
    )
    return render(
        request,
        "actionplan/evidence_detail.html",
        {
            "item": item,
            "actions": selectors.evidence_citing_actions(item=item, user=request.user),
            "can_edit": permissions.can_edit_evidence(request.user, item),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def evidence_edit(request: HttpRequest, slug: str) -> HttpResponse:
    item = get_object_or_404(EvidenceItem, slug=slug)
    permissions.require(permissions.can_edit_evidence(request.user, item))
    form = EvidenceForm(_posted(request), item=item, initial=EvidenceForm.initial_for(item))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        key_steps, priority_areas = data.pop("key_steps"), data.pop("priority_areas")
        try:
            services.evidence_update(
                actor=request.user, item=item, values=data, key_steps=key_steps, priority_areas=priority_areas
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Evidence saved.")
            return redirect(item)
    return render(request, "actionplan/evidence_form.html", {"form": form, "item": item})
