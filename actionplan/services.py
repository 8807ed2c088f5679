"""Every write to plans, actions, milestones, grants and the evidence library.

Each service assumes the caller has already asked ``actionplan.permissions`` (views and
the API do, with the same functions); the docstrings say which question. Plans and
actions are written with a compare-and-set on their version (``update_versioned``): a
stale write raises :class:`~kernel.concurrency.StaleEdit` and changes nothing.
Every write runs inside ``pghistory.context(user=...)`` so the history names the actor
whether the call came from the browser, the API or a script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pghistory
from django.contrib.auth.models import Permission
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from actionplan import permissions
from actionplan.models import (
    Action,
    ActionIndicator,
    ActionStatus,
    EvidenceItem,
    KeyStep,
    Milestone,
    Plan,
    PlanGroupObjectPermission,
    PlanScope,
    PlanStatus,
    PlanUserObjectPermission,
    ProgressNote,
)
from kernel.concurrency import StaleEdit, delete_versioned, update_versioned
from kernel.history import records_actor
from outcomes.models import Indicator, PriorityArea
from stakeholders.models import Area, AreaLevel, Organisation, User

# from status -> to statuses. Only plan managers change status (permissions.can_manage_plan).
PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.CONSULTATION, PlanStatus.ACTIVE}),
    PlanStatus.CONSULTATION: frozenset({PlanStatus.DRAFT, PlanStatus.ACTIVE}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.CLOSED}),
    PlanStatus.CLOSED: frozenset({PlanStatus.ACTIVE}),
}

# Moving from these to active passes the activation gate (plan_change_status).
ACTIVATION_GATED = frozenset({PlanStatus.DRAFT, PlanStatus.CONSULTATION})

PLAN_FIELDS = ("title", "summary", "scope", "lead_organisation", "period_start", "period_end", "visibility")
ACTION_FIELDS = (
    "key_step",
    "title",
    "description",
    "owner_organisation",
    "lead",
    "status",
    "progress",
    "start_date",
    "due_date",
    "weight",
)


def allowed_transitions(plan: Plan) -> list[str]:
    return sorted(PLAN_TRANSITIONS.get(plan.status, frozenset()), key=list(PlanStatus.values).index)


def _unique_slug(model, text: str, exclude_pk: int | None = None) -> str:
    base = slugify(text)[:200] or model._meta.model_name
    slug, n = base, 2
    qs = model.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _validate_scope(scope: str, areas: list[Area]) -> None:
    if scope == PlanScope.PAN_LONDON and areas:
        raise ValidationError({"areas": "A pan-London plan covers all of London: choose no areas."})
    if scope == PlanScope.SUB_REGION and (len(areas) != 1 or areas[0].level != AreaLevel.SUB_REGION):
        raise ValidationError({"areas": "Choose the one ICS sub-region this plan covers."})
    if scope == PlanScope.BOROUGHS and (not areas or any(a.level != AreaLevel.BOROUGH for a in areas)):
        raise ValidationError({"areas": "Choose the borough or boroughs this plan covers."})


def _perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="actionplan", codename=codename)


def _grant(plan: Plan, codename: str, *, user: User | None = None, organisation: Organisation | None = None) -> None:
    permission = _perm(codename)
    if user is not None:
        PlanUserObjectPermission.objects.get_or_create(user=user, permission=permission, content_object=plan)
    else:
        PlanGroupObjectPermission.objects.get_or_create(
            group=organisation.group, permission=permission, content_object=plan
        )


@records_actor
@transaction.atomic
def plan_create(
    *,
    actor: User,
    title: str,
    lead_organisation: Organisation,
    period_start: dt.date,
    period_end: dt.date,
    summary: str = "",
    scope: str = PlanScope.PAN_LONDON,
    areas: Iterable[Area] = (),
    partners: Iterable[Organisation] = (),
    visibility: str = "public",
    status: str = PlanStatus.DRAFT,
) -> Plan:
    """Start a plan (in draft). Permission: ``can_create_plan``.

    Grants: the creator manages it, the lead organisation may change it, partner
    organisations may view it (which matters while it is a draft or partners-only).
    """
    areas, partners = list(areas), list(partners)
    _validate_scope(scope, areas)
    plan = Plan(
        title=title,
        slug=_unique_slug(Plan, title),
        summary=summary,
        scope=scope,
        lead_organisation=lead_organisation,
        period_start=period_start,
        period_end=period_end,
        visibility=visibility,
        status=status,
        created_by=actor,
    )
    plan.full_clean()
    with pghistory.context(user=actor.pk):
        plan.save()
        plan.areas.set(areas)
        plan.partners.set(partners)
        _grant(plan, permissions.MANAGE, user=actor)
        _grant(plan, permissions.CHANGE, organisation=lead_organisation)
        for partner in partners:
            _grant(plan, permissions.VIEW, organisation=partner)
    permissions.forget_plan_perms(actor)
    return plan


@records_actor
@transaction.atomic
def plan_update(
    *,
    actor: User,
    plan: Plan,
    expected_version: int,
    values: Mapping[str, Any],
    areas: Iterable[Area] | None = None,
    partners: Iterable[Organisation] | None = None,
) -> Plan:
    """Edit a plan's details. Permission: ``can_change_plan``. Status changes go through ``plan_change_status``.

    New partner organisations are granted view; raises StaleEdit when the plan moved on.
    """
    unknown = set(values) - set(PLAN_FIELDS)
    if unknown:
        raise ValueError(f"plan_update cannot set {sorted(unknown)}")
    for name, value in values.items():
        setattr(plan, name, value)
    area_list = list(areas) if areas is not None else list(plan.areas.all())
    _validate_scope(plan.scope, area_list)
    plan.full_clean(exclude=["slug"])
    db_values = dict(values)
    db_values["updated_at"] = timezone.now()
    with pghistory.context(user=actor.pk):
        update_versioned(plan, expected_version=expected_version, values=db_values)
        if areas is not None:
            plan.areas.set(area_list)
        if partners is not None:
            partners = list(partners)
            plan.partners.set(partners)
            for partner in partners:
                _grant(plan, permissions.VIEW, organisation=partner)
    return plan


@records_actor
@transaction.atomic
def plan_change_status(*, actor: User, plan: Plan, expected_version: int, status: str) -> Plan:
    """Move a plan along draft -> consultation -> active -> closed (PLAN_TRANSITIONS).

    Permission: ``can_manage_plan``. Raises StaleEdit when the plan moved on (checked
    first, so a stale request is told so rather than "cannot go from X to X"), and
    ValidationError for a transition the table does not allow.

    The activation gate (issue 23): a draft or a plan in consultation becomes active only when
    every partner has a current signature on its commitments or a manager has recorded why not
    (``actionplan.commitments``). Reopening a closed plan is not gated.
    """
    if plan.version != expected_version:
        raise StaleEdit(plan, expected_version)
    if status not in PLAN_TRANSITIONS.get(plan.status, frozenset()):
        raise ValidationError(
            {
                "status": f"A plan cannot go from {PlanStatus(plan.status).label.lower()} "
                f"to {PlanStatus(status).label.lower() if status in PlanStatus.values else status}."
            }
        )
    if status == PlanStatus.ACTIVE and plan.status in ACTIVATION_GATED:
        from actionplan.commitments.selectors import activation_blockers

        blockers = activation_blockers(plan)
        if blockers:
            names = ", ".join(o.name for o in blockers)
            raise ValidationError(
                {
                    "status": "The plan can become active only when every partner has signed its commitments "
                    f"or a manager has recorded why not. Still to sign: {names}."
                }
            )
    with pghistory.context(user=actor.pk):
        values = {"status": status, "updated_at": timezone.now()}
        update_versioned(plan, expected_version=expected_version, values=values)
    return plan


@records_actor
@transaction.atomic
def plan_set_grant(
    *, actor: User, plan: Plan, level: str, user: User | None = None, organisation: Organisation | None = None
) -> None:
    """Give a person or a whole organisation one grant level on a plan, replacing what they had.

    Permission: ``can_manage_plan``. Levels are ``permissions.GRANT_LEVELS``. A lived-experience
    representative's ``represent_plan`` grant is not a level: changing their level keeps it (it is
    taken back only when they stop being named, actionplan.commitments.services).
    """
    if level not in permissions.GRANT_LEVELS:
        raise ValidationError({"level": "Choose what they may do."})
    if (user is None) == (organisation is None):
        raise ValidationError("Choose a person or an organisation.")
    with pghistory.context(user=actor.pk):
        _revoke(
            plan,
            user=user,
            organisation=organisation,
            keep_a_manager=level != permissions.MANAGE,
            keep=(permissions.REPRESENT,),
        )
        _grant(plan, level, user=user, organisation=organisation)
    permissions.forget_plan_perms(actor)


@records_actor
@transaction.atomic
def plan_revoke(*, actor: User, plan: Plan, user: User | None = None, organisation: Organisation | None = None) -> None:
    """Take away every grant a person or organisation has on the plan. Permission: ``can_manage_plan``.

    Refuses to remove the plan's last manager.
    """
    with pghistory.context(user=actor.pk):
        _revoke(plan, user=user, organisation=organisation, keep_a_manager=True)
    permissions.forget_plan_perms(actor)


def _revoke(
    plan: Plan,
    *,
    user: User | None,
    organisation: Organisation | None,
    keep_a_manager: bool,
    keep: tuple[str, ...] = (),
) -> None:
    if user is not None:
        rows = PlanUserObjectPermission.objects.filter(content_object=plan, user=user)
    else:
        rows = PlanGroupObjectPermission.objects.filter(content_object=plan, group=organisation.group)
    rows = rows.exclude(permission__codename__in=keep)
    if keep_a_manager and rows.filter(permission__codename=permissions.MANAGE).exists():
        managers = (
            PlanUserObjectPermission.objects.filter(
                content_object=plan, permission__codename=permissions.MANAGE
            ).count()
            + PlanGroupObjectPermission.objects.filter(
                content_object=plan, permission__codename=permissions.MANAGE
            ).count()
        )
        if managers <= 1:
            raise ValidationError("A plan needs at least one manager: give someone else manage first.")
    rows.delete()


def _check_dependencies(action: Action, dependencies: list[Action]) -> None:
    for dep in dependencies:
        if dep.pk == action.pk:
            raise ValidationError({"dependencies": "An action cannot depend on itself."})
        if dep.plan_id != action.plan_id:
            raise ValidationError({"dependencies": "An action can only depend on actions of the same plan."})
    if action.pk and dependencies:
        # Walk what the proposed dependencies depend on, level by level (one query per level).
        frontier = {d.pk for d in dependencies}
        seen: set[int] = set()
        while frontier:
            if action.pk in frontier:
                raise ValidationError({"dependencies": "That would make a loop of actions waiting on each other."})
            seen |= frontier
            frontier = (
                set(
                    Action.dependencies.through.objects.filter(from_action_id__in=frontier).values_list(
                        "to_action_id", flat=True
                    )
                )
                - seen
            )


def _checked_priority_areas(current: Any, wanted: Iterable[PriorityArea]) -> list[PriorityArea]:
    """The wanted areas, refusing a retired one unless the record already names it."""
    wanted = list(wanted)
    held = set(current.values_list("pk", flat=True)) if any(not a.is_active for a in wanted) else set()
    retired = [a.name for a in wanted if not a.is_active and a.pk not in held]
    if retired:
        raise ValidationError({"priority_areas": f"No longer in use: {', '.join(retired)}."})
    return wanted


def _normalise_status_progress(values: dict[str, Any], current: Action | None) -> None:
    status = values.get("status", current.status if current else ActionStatus.NOT_STARTED)
    if status == ActionStatus.DONE:
        values["progress"] = 100
    elif "progress" in values and values["progress"] is None:
        values.pop("progress")


def _set_links(
    action: Action,
    *,
    partners: Iterable[Organisation] | None,
    dependencies: Iterable[Action] | None,
    indicators: Mapping[Indicator, Decimal | None] | None,
    evidence: Iterable[EvidenceItem] | None,
    priority_areas: Iterable[PriorityArea] | None = None,
) -> None:
    if priority_areas is not None:
        action.priority_areas.set(_checked_priority_areas(action.priority_areas, priority_areas))
    if partners is not None:
        action.partners.set(list(partners))
    if dependencies is not None:
        deps = list(dependencies)
        _check_dependencies(action, deps)
        action.dependencies.set(deps)
    if indicators is not None:
        wanted = {ind.pk: target for ind, target in indicators.items()}
        ActionIndicator.objects.filter(action=action).exclude(indicator_id__in=wanted).delete()
        existing = {link.indicator_id: link for link in ActionIndicator.objects.filter(action=action)}
        for indicator_id, target in wanted.items():
            link = existing.get(indicator_id)
            if link is None:
                ActionIndicator.objects.create(action=action, indicator_id=indicator_id, target=target)
            elif link.target != target:
                link.target = target
                link.save(update_fields=["target"])
    if evidence is not None:
        action.evidence.set(list(evidence))


@records_actor
@transaction.atomic
def action_create(
    *,
    actor: User,
    plan: Plan,
    key_step: KeyStep,
    title: str,
    owner_organisation: Organisation,
    partners: Iterable[Organisation] = (),
    dependencies: Iterable[Action] = (),
    indicators: Mapping[Indicator, Decimal | None] | None = None,
    evidence: Iterable[EvidenceItem] = (),
    priority_areas: Iterable[PriorityArea] = (),
    **values: Any,
) -> Action:
    """Add an action under a key step, improving any number of priority areas.

    Permission: ``can_change_plan``.
    """
    unknown = set(values) - set(ACTION_FIELDS)
    if unknown:
        raise ValueError(f"action_create cannot set {sorted(unknown)}")
    _normalise_status_progress(values, None)
    action = Action(
        plan=plan, key_step=key_step, title=title, owner_organisation=owner_organisation, created_by=actor, **values
    )
    action.full_clean()
    with pghistory.context(user=actor.pk):
        action.save()
        _set_links(
            action,
            partners=partners,
            dependencies=dependencies,
            indicators=indicators or {},
            evidence=evidence,
            priority_areas=priority_areas,
        )
    return action


# What the plan's followers hear of when it changes on an action (actionplan.voice).
FOLLOWED_FIELDS = ("status", "progress", "due_date")


@records_actor
@transaction.atomic
def action_update(
    *,
    actor: User,
    action: Action,
    expected_version: int,
    values: Mapping[str, Any],
    partners: Iterable[Organisation] | None = None,
    dependencies: Iterable[Action] | None = None,
    indicators: Mapping[Indicator, Decimal | None] | None = None,
    evidence: Iterable[EvidenceItem] | None = None,
    priority_areas: Iterable[PriorityArea] | None = None,
) -> Action:
    """Edit an action (any of ACTION_FIELDS and its links). Permission: ``can_change_plan``.

    Raises StaleEdit when someone saved the action since ``expected_version``; nothing is
    written then, links included. Marking it done sets progress to 100 and asks the authors of the
    comments it answered whether it changed their experience (actionplan.consultations).
    """
    values = dict(values)
    unknown = set(values) - set(ACTION_FIELDS)
    if unknown:
        raise ValueError(f"action_update cannot set {sorted(unknown)}")
    _normalise_status_progress(values, action)
    before = {name: getattr(action, name) for name in FOLLOWED_FIELDS}
    for name, value in values.items():
        setattr(action, name, value)
    action.full_clean(exclude=["plan"])
    values["updated_at"] = timezone.now()
    with pghistory.context(user=actor.pk):
        # The compare-and-set goes first so a stale save leaves the links alone too.
        update_versioned(action, expected_version=expected_version, values=values)
        _set_links(
            action,
            partners=partners,
            dependencies=dependencies,
            indicators=indicators,
            evidence=evidence,
            priority_areas=priority_areas,
        )
    changed = {name: (old, getattr(action, name)) for name, old in before.items() if getattr(action, name) != old}
    if changed:
        from actionplan.voice.services import notify_action_changed

        notify_action_changed(action=action, changed=changed, actor=actor)
    if "status" in changed and action.status == ActionStatus.DONE:
        # Closing the loop (issue 23): the people whose comments changed this action are asked
        # whether it made a difference, in this transaction (their emails go on commit).
        from actionplan.consultations.services import change_checks_request

        change_checks_request(action=action, actor=actor)
    return action


@records_actor
@transaction.atomic
def action_set_progress(
    *,
    actor: User,
    action: Action,
    expected_version: int,
    status: str | None = None,
    progress: int | None = None,
    note: str = "",
) -> Action:
    """The in-place edit of an action's status and progress, with an optional dated note of why.

    Permission: ``can_update_action`` (the plan's editors, the action's lead and its owner's members).
    """
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status
    if progress is not None:
        values["progress"] = progress
    action = action_update(actor=actor, action=action, expected_version=expected_version, values=values)
    progress_note_add(actor=actor, action=action, text=note)
    return action


@records_actor
def progress_note_add(*, actor: User, action: Action, text: str) -> ProgressNote | None:
    """Keep a dated note of why an action's status or progress changed (None for a blank note).

    Called after the change it explains (action_set_progress, or the API's action update);
    the permission is the caller's.
    """
    if not text.strip():
        return None
    return ProgressNote.objects.create(
        action=action, author=actor, status=action.status, progress=action.progress, text=text.strip()
    )


@records_actor
@transaction.atomic
def action_set_target(
    *, actor: User, action: Action, expected_version: int, link: ActionIndicator, target: Decimal | None, note: str
) -> ActionIndicator:
    """Set the target of one of an action's linked indicators. Permission: ``can_change_plan``.

    Bumps the action's version (the target is part of the action), so it is refused when stale.
    """
    if link.action_id != action.pk:
        raise ValueError("that indicator link belongs to another action")
    with pghistory.context(user=actor.pk):
        update_versioned(action, expected_version=expected_version, values={"updated_at": timezone.now()})
        link.target, link.target_note = target, note
        link.full_clean()
        link.save(update_fields=["target", "target_note"])
    return link


@records_actor
@transaction.atomic
def action_delete(*, actor: User, action: Action, expected_version: int) -> None:
    """Delete an action and its milestones. Permission: ``can_change_plan``. Refused when stale."""
    with pghistory.context(user=actor.pk):
        delete_versioned(action, expected_version=expected_version)


@records_actor
@transaction.atomic
def milestone_create(
    *, actor: User, action: Action, title: str, due: dt.date | None = None, done_on: dt.date | None = None
) -> Milestone:
    """Add a milestone to an action. Permission: ``can_change_plan``."""
    milestone = Milestone(action=action, title=title, due=due, done_on=done_on)
    milestone.full_clean()
    with pghistory.context(user=actor.pk):
        milestone.save()
    return milestone


@records_actor
@transaction.atomic
def milestone_update(*, actor: User, milestone: Milestone, values: Mapping[str, Any]) -> Milestone:
    """Edit a milestone's title, due date or done-on date. Permission: ``can_change_plan``."""
    unknown = set(values) - {"title", "due", "done_on"}
    if unknown:
        raise ValueError(f"milestone_update cannot set {sorted(unknown)}")
    for name, value in values.items():
        setattr(milestone, name, value)
    milestone.full_clean(exclude=["action"])
    with pghistory.context(user=actor.pk):
        milestone.save(update_fields=list(values))
    return milestone


@records_actor
@transaction.atomic
def milestone_delete(*, actor: User, milestone: Milestone) -> None:
    """Delete a milestone. Permission: ``can_change_plan``."""
    with pghistory.context(user=actor.pk):
        milestone.delete()


def _refresh_search(item: EvidenceItem) -> None:
    EvidenceItem.objects.filter(pk=item.pk).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
    )


@records_actor
@transaction.atomic
def evidence_create(
    *,
    actor: User,
    title: str,
    summary: str,
    type: str,
    url: str = "",
    organisation: Organisation | None = None,
    key_steps: Iterable[KeyStep] = (),
    priority_areas: Iterable[PriorityArea] = (),
) -> EvidenceItem:
    """Publish an item to the evidence library. Permission: ``can_publish_evidence``."""
    item = EvidenceItem(
        title=title,
        slug=_unique_slug(EvidenceItem, title),
        summary=summary,
        type=type,
        url=url,
        organisation=organisation,
        published_by=actor,
    )
    item.full_clean()
    with pghistory.context(user=actor.pk):
        item.save()
        item.key_steps.set(list(key_steps))
        item.priority_areas.set(_checked_priority_areas(item.priority_areas, priority_areas))
        _refresh_search(item)
    return item


@records_actor
@transaction.atomic
def evidence_update(
    *,
    actor: User,
    item: EvidenceItem,
    values: Mapping[str, Any],
    key_steps: Iterable[KeyStep] | None = None,
    priority_areas: Iterable[PriorityArea] | None = None,
) -> EvidenceItem:
    """Edit an evidence item. Permission: ``can_edit_evidence``."""
    unknown = set(values) - {"title", "summary", "type", "url", "organisation"}
    if unknown:
        raise ValueError(f"evidence_update cannot set {sorted(unknown)}")
    for name, value in values.items():
        setattr(item, name, value)
    item.full_clean(exclude=["slug"])
    with pghistory.context(user=actor.pk):
        item.save()
        if key_steps is not None:
            item.key_steps.set(list(key_steps))
        if priority_areas is not None:
            item.priority_areas.set(_checked_priority_areas(item.priority_areas, priority_areas))
        _refresh_search(item)
    return item
