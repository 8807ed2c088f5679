"""Pages for a plan's commitment matrix: record, sign, reasons for not signing, representatives,
an action's co-owners, and everything an organisation has committed to across London."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from actionplan import permissions as plan_permissions
from actionplan.commitments import permissions, selectors, services
from actionplan.commitments.forms import CommitmentForm, CoOwnerForm, RepresentativeForm, SignForm, WaiverForm
from actionplan.models import ActionCoOwner, Commitment, KeyStep, Plan, PlanRepresentative, PlanStatus
from kernel.concurrency import StaleEdit
from kernel.forms import add_service_errors, posted
from stakeholders.models import Organisation, User

NAV = "plans"


def _plan(request: HttpRequest, slug: str) -> Plan:
    return plan_permissions.get_plan_for_user_or_404(
        request.user, slug, queryset=Plan.objects.select_related("lead_organisation").prefetch_related("partners")
    )


def _common(request: HttpRequest, plan: Plan) -> dict[str, Any]:
    user = request.user
    return {
        "plan": plan,
        "nav": NAV,
        "can_change": plan_permissions.can_change_plan(user, plan),
        "can_manage": plan_permissions.can_manage_plan(user, plan),
    }


def _orgs(ids: list[int]) -> Any:
    return Organisation.objects.filter(pk__in=ids).order_by("name")


# The matrix ------------------------------------------------------------------------------------


@require_GET
def plan_commitments(request: HttpRequest, slug: str) -> HttpResponse:
    """The commitment matrix: partners x key steps, signatures, reasons, representatives."""
    plan = _plan(request, slug)
    matrix = selectors.matrix(plan, request.user)
    return render(
        request,
        "actionplan/commitments/matrix.html",
        {
            **_common(request, plan),
            "tab": "commitments",
            "matrix": matrix,
            "can_waive": permissions.can_waive(request.user, plan),
            "can_cosign": permissions.can_cosign(request.user, plan),
            "can_manage_representatives": permissions.can_manage_representatives(request.user, plan),
            "gated": plan.status in (PlanStatus.DRAFT, PlanStatus.CONSULTATION),
            "history": selectors.recent_history(plan),
        },
    )


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def plan_commitment_record(request: HttpRequest, slug: str) -> HttpResponse:
    """Record or change what one partner commits to under one key step (the cell is chosen by
    ?organisation=<id>&step=<number>, or on the form)."""
    plan = _plan(request, slug)
    org_ids = permissions.recordable_organisation_ids(request.user, plan)
    permissions.require(bool(org_ids))
    source = request.POST if request.method == "POST" else request.GET
    org_id = _int(source.get("organisation"))
    org_id = org_id if org_id in org_ids else org_ids[0]
    organisation = Organisation.objects.get(pk=org_id)
    step_number = _int(source.get("step")) if request.method == "GET" else None
    step = KeyStep.objects.filter(number=step_number).first() if step_number else None
    if request.method == "POST":
        step = KeyStep.objects.filter(pk=_int(request.POST.get("key_step"))).first()
    existing = (
        Commitment.objects.filter(plan=plan, organisation=organisation, key_step=step)
        .prefetch_related("action_links")
        .first()
        if step
        else None
    )
    initial: dict[str, Any] = {"organisation": organisation.pk, "key_step": step.pk if step else None}
    if existing is not None:
        initial |= {
            "contribution": existing.contribution,
            "actions": [link.action_id for link in existing.action_links.all()],
            "version": existing.version,
        }
    form = CommitmentForm(
        posted(request),
        organisations=_orgs(org_ids),
        actions=selectors.linkable_actions(plan, organisation),
        initial=initial,
    )
    if request.method == "POST" and "remove" in request.POST and existing is not None:
        try:
            services.commitment_delete(
                actor=request.user, commitment=existing, expected_version=_int(request.POST.get("version")) or 0
            )
        except StaleEdit:
            messages.error(request, "Someone changed this commitment meanwhile: check it and try again.")
            return redirect(f"{request.path}?organisation={organisation.pk}&step={step.number}")
        messages.success(request, f"{organisation.name}'s commitment under step {step.number} is removed.")
        return redirect("plan_commitments", slug=plan.slug)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.commitment_save(
                actor=request.user,
                plan=plan,
                organisation=data["organisation"],
                key_step=data["key_step"],
                contribution=data["contribution"],
                actions=list(data["actions"]),
                expected_version=data.get("version") if existing is not None else None,
                create_only=existing is None,
            )
        except StaleEdit as exc:
            form.add_error(
                None,
                f"{exc} What is saved now is shown in the matrix; your text is kept below. Save again to replace it.",
            )
            form.data = form.data.copy()
            form.data["version"] = str(exc.current.version)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"{data['organisation'].name}'s commitment under step {data['key_step'].number} is saved."
            )
            return redirect("plan_commitments", slug=plan.slug)
    return render(
        request,
        "actionplan/commitments/record.html",
        {**_common(request, plan), "form": form, "existing": existing, "organisation": organisation, "step": step},
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_commitments_sign(request: HttpRequest, slug: str) -> HttpResponse:
    """An accountable officer signs their organisation's commitments (a confirmation page first)."""
    plan = _plan(request, slug)
    org_ids = permissions.signable_organisation_ids(request.user, plan)
    permissions.require(bool(org_ids))
    source = request.POST if request.method == "POST" else request.GET
    org_id = _int(source.get("organisation"))
    org_id = org_id if org_id in org_ids else org_ids[0]
    form = SignForm(posted(request), organisations=_orgs(org_ids), initial={"organisation": org_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.commitments_sign(actor=request.user, plan=plan, organisation=form.cleaned_data["organisation"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"You signed {form.cleaned_data['organisation'].name}'s commitments.")
            return redirect("plan_commitments", slug=plan.slug)
    matrix = selectors.matrix(plan, request.user)
    row = next(r for r in matrix.rows if r.organisation.pk == org_id)
    return render(request, "actionplan/commitments/sign.html", {**_common(request, plan), "form": form, "row": row})


@login_required
@require_http_methods(["GET", "POST"])
def plan_commitments_not_signed(request: HttpRequest, slug: str) -> HttpResponse:
    """A plan manager records, per partner, why it has not signed."""
    plan = _plan(request, slug)
    permissions.require(permissions.can_waive(request.user, plan))
    matrix = selectors.matrix(plan, request.user)
    waiting = [r for r in matrix.rows if r.state != selectors.SIGNED]
    org_id = _int(request.GET.get("organisation"))
    current = next((r for r in waiting if r.organisation.pk == org_id), waiting[0] if waiting else None)
    form = WaiverForm(
        posted(request),
        organisations=_orgs([r.organisation.pk for r in waiting]),
        initial={
            "organisation": current.organisation.pk if current else None,
            "reason": current.sign_off.waiver_reason if current and current.sign_off else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.sign_off_waive(
                actor=request.user, plan=plan, organisation=data["organisation"], reason=data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            what = "recorded" if data["reason"].strip() else "cleared"
            messages.success(request, f"The reason {data['organisation'].name} has not signed is {what}.")
            return redirect("plan_commitments", slug=plan.slug)
    return render(
        request,
        "actionplan/commitments/not_signed.html",
        {**_common(request, plan), "form": form, "waiting": waiting},
    )


@login_required
@require_POST
def plan_commitments_ask(request: HttpRequest, slug: str) -> HttpResponse:
    """A plan manager asks every partner without a current signature to sign."""
    plan = _plan(request, slug)
    permissions.require(permissions.can_ask_to_sign(request.user, plan))
    told = services.sign_requests_send(actor=request.user, plan=plan)
    messages.success(
        request,
        f"Asked {told} accountable officer{'s' if told != 1 else ''} to sign."
        if told
        else "Nobody to ask: every partner has signed, or has no accountable officer on the portal.",
    )
    return redirect("plan_commitments", slug=plan.slug)


@login_required
@require_POST
def plan_commitments_cosign(request: HttpRequest, slug: str) -> HttpResponse:
    """A lived-experience representative co-signs the matrix as it is now."""
    plan = _plan(request, slug)
    permissions.require(permissions.can_cosign(request.user, plan))
    try:
        services.matrix_cosign(actor=request.user, plan=plan)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "You co-signed the commitments as a lived-experience representative.")
    return redirect("plan_commitments", slug=plan.slug)


# Representatives -------------------------------------------------------------------------------


def _lived_experience_people(plan: Plan) -> Any:
    named = PlanRepresentative.objects.filter(plan=plan).values("user_id")
    return (
        User.objects.filter(is_active=True).exclude(lived_experience="").exclude(pk__in=named).order_by("display_name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_representatives(request: HttpRequest, slug: str) -> HttpResponse:
    """Name (or stop naming) the plan's lived-experience representatives: its managers."""
    plan = _plan(request, slug)
    permissions.require(permissions.can_manage_representatives(request.user, plan))
    if request.method == "POST" and "remove" in request.POST:
        representative = get_object_or_404(PlanRepresentative, plan=plan, pk=_int(request.POST["remove"]) or 0)
        services.representative_remove(actor=request.user, representative=representative)
        messages.success(
            request, f"{representative.user.display_name} no longer represents service users and carers here."
        )
        return redirect("plan_representatives", slug=plan.slug)
    form = RepresentativeForm(posted(request), people=_lived_experience_people(plan))
    if request.method == "POST" and form.is_valid():
        try:
            representative = services.representative_add(actor=request.user, plan=plan, user=form.cleaned_data["user"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{representative.user.display_name} now represents service users and carers.")
            return redirect("plan_representatives", slug=plan.slug)
    return render(
        request,
        "actionplan/commitments/representatives.html",
        {
            **_common(request, plan),
            "form": form,
            "representatives": PlanRepresentative.objects.filter(plan=plan).select_related("user"),
        },
    )


# Co-owners of an action ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def action_co_owners(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Add or remove the organisations that co-own an action, each with its share: the plan's editors."""
    plan = _plan(request, slug)
    action = plan_permissions.get_action_for_user_or_404(request.user, plan, pk)
    permissions.require(permissions.can_manage_co_owners(request.user, plan))
    co_owners = list(action.co_owners.select_related("organisation"))
    if request.method == "POST" and "remove" in request.POST:
        co_owner = get_object_or_404(ActionCoOwner, action=action, pk=_int(request.POST["remove"]) or 0)
        services.co_owner_remove(actor=request.user, co_owner=co_owner)
        messages.success(request, f"{co_owner.organisation.name} no longer co-owns this action.")
        return redirect("action_co_owners", slug=plan.slug, pk=action.pk)
    taken = [action.owner_organisation_id, *(c.organisation_id for c in co_owners)]
    form = CoOwnerForm(posted(request), organisations=Organisation.objects.exclude(pk__in=taken).order_by("name"))
    if request.method == "POST" and form.is_valid():
        try:
            services.co_owner_add(actor=request.user, action=action, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['organisation'].name} now co-owns this action.")
            return redirect("action_co_owners", slug=plan.slug, pk=action.pk)
    return render(
        request,
        "actionplan/commitments/co_owners.html",
        {**_common(request, plan), "action": action, "form": form, "co_owners": co_owners},
    )


# An organisation across London -----------------------------------------------------------------


@require_GET
def organisation_commitments(request: HttpRequest, slug: str) -> HttpResponse:
    """Everything an organisation has committed to, in the plans the viewer may see."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    found = selectors.organisation_commitments(organisation, request.user)
    return render(request, "actionplan/commitments/organisation.html", {"nav": NAV, "found": found})


__all__ = [
    "action_co_owners",
    "organisation_commitments",
    "plan_commitment_record",
    "plan_commitments",
    "plan_commitments_ask",
    "plan_commitments_cosign",
    "plan_commitments_not_signed",
    "plan_commitments_sign",
    "plan_representatives",
]
