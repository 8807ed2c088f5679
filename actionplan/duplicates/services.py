"""Every write about duplicated work: dismiss and un-dismiss a pair, propose and merge a pair, split a merge.

Each service checks its own permission (``actionplan.duplicates.permissions``) as well as the
view that calls it, records its actor in the history (pghistory context) and tells the plans'
managers through ``actionplan.voice``'s ``notify`` (kind ``duplicate``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from actionplan.duplicates import permissions
from actionplan.duplicates.models import DismissedPair, MergeRecord, SharedAction
from actionplan.models import Action, ActionCoOwner, ActionIndicator, Milestone, NotificationKind, Plan
from actionplan.permissions import forget_plan_perms, require
from kernel.history import records_actor
from stakeholders.models import User

# The many-to-many links a merge gives the kept action (what the retired one had and it lacked).
MERGED_LINKS = ("partners", "priority_areas", "evidence", "dependencies")


def _ordered(a: Action, b: Action) -> tuple[Action, Action]:
    return (a, b) if a.pk < b.pk else (b, a)


def plan_managers(plan: Plan) -> list[User]:
    """People and organisation members granted manage_plan on the plan, active (superusers not listed)."""
    from guardian.shortcuts import get_users_with_perms

    users = get_users_with_perms(plan, only_with_perms_in=["manage_plan"], with_group_users=True, with_superusers=False)
    return list(users.filter(is_active=True).order_by("pk"))


def _tell_managers(*, plans: list[Plan], actor: User, text: str, url: str, action: Action, dedupe_key: str = "") -> int:
    from actionplan.voice.services import notify

    seen: set[int] = {actor.pk}
    told = 0
    for plan in plans:
        for manager in plan_managers(plan):
            if manager.pk in seen:
                continue
            seen.add(manager.pk)
            told += (
                notify(
                    recipient=manager,
                    kind=NotificationKind.DUPLICATE,
                    text=text,
                    url=url,
                    plan=plan,
                    action=action,
                    dedupe_key=dedupe_key,
                )
                is not None
            )
    return told


# Dismissing ---------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def pair_dismiss(*, actor: User, a: Action, b: Action, reason: str) -> DismissedPair:
    """Remember that ``a`` and ``b`` are not the same work. Permission: a manager of either plan."""
    require(permissions.can_dismiss_pair(actor, a, b))
    a, b = _ordered(a, b)
    if DismissedPair.objects.filter(action_a=a, action_b=b).exists():
        raise ValidationError({"reason": "This pair was dismissed already."})
    row = DismissedPair(action_a=a, action_b=b, dismissed_by=actor, reason=reason.strip())
    row.full_clean()
    row.save()
    return row


@records_actor
@transaction.atomic
def pair_undismiss(*, actor: User, dismissal: DismissedPair) -> None:
    """List the pair as a candidate again (its dismissal stays in the history). Permission: as dismissing."""
    require(permissions.can_dismiss_pair(actor, dismissal.action_a, dismissal.action_b))
    dismissal.delete()


# Merging ------------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def merge_propose(*, actor: User, kept: Action, retired: Action, reason: str = "") -> int:
    """A manager of one plan asks the other plan's managers to merge the pair. Returns how many were told.

    Permission: ``can_propose_merge``. Writes nothing but notifications (one per manager per
    pair and direction, however often it is asked).
    """
    require(permissions.can_propose_merge(actor, kept, retired))
    other = [p for p in (kept.plan, retired.plan) if not permissions._manages(actor, p)]
    a, b = _ordered(kept, retired)
    text = f"{actor} proposes merging “{retired.title}” ({retired.plan}) into “{kept.title}” ({kept.plan})"
    if reason.strip():
        text += f": {reason.strip()}"
    url = reverse("duplicate_pair", args=[a.pk, b.pk])
    return _tell_managers(
        plans=other,
        actor=actor,
        text=text,
        url=url,
        action=kept,
        dedupe_key=f"duplicate-propose-{kept.pk}-{retired.pk}",
    )


def _lock(*actions: Action) -> dict[int, Action]:
    rows = Action.objects.select_for_update().filter(pk__in=[a.pk for a in actions]).order_by("pk")
    return {row.pk: row for row in rows}


@records_actor
@transaction.atomic
def pair_merge(*, actor: User, kept: Action, retired: Action, reason: str = "") -> MergeRecord:
    """Merge ``retired`` into ``kept``: one shared action both plans point at.

    Permission: ``can_merge_pair`` (a manager of both plans). The kept action gains the retired
    one's owner and co-owners as co-owners, its milestones and the indicator links it lacked,
    and its partners, priority areas, evidence and dependencies; actions that depended on the
    retired one depend on the kept one too. The retired action keeps its row, with
    ``merged_into`` set, and leaves every list; its plan shows the kept action through a
    :class:`SharedAction`. What moved is recorded in the :class:`MergeRecord`, so
    :func:`merge_split` can give it back. Both actions' versions are bumped, so an edit begun
    before the merge is refused as stale. Tells both plans' managers.
    """
    require(permissions.can_merge_pair(actor, kept, retired))
    locked = _lock(kept, retired)
    if len(locked) != 2 or kept.pk == retired.pk:
        raise ValidationError("Choose two different actions to merge.")
    if any(a.merged_into_id for a in locked.values()):
        raise ValidationError("One of these actions was merged already; split that merge first.")
    if MergeRecord.objects.filter(kept=retired, split_at__isnull=True).exists():
        raise ValidationError(
            f"“{retired.title}” is itself a merged action; keep it instead, or split its earlier merge first."
        )
    moved: dict[str, Any] = {}

    # Co-owners: the retired action's owner and co-owners, unless the kept action has them.
    have = {kept.owner_organisation_id, *kept.co_owners.values_list("organisation_id", flat=True)}
    created = []
    incoming = [(retired.owner_organisation, f"Owner of “{retired.title}” ({retired.plan}), merged in")]
    incoming += [(c.organisation, c.share) for c in retired.co_owners.select_related("organisation")]
    for organisation, share in incoming:
        if organisation.pk in have:
            continue
        row = ActionCoOwner(action=kept, organisation=organisation, share=share[:300])
        row.full_clean()
        row.save()
        created.append(row.pk)
        have.add(organisation.pk)
    moved["co_owners"] = created

    # Milestones move across; indicator links move unless the kept action links the indicator already.
    moved["milestones"] = list(retired.milestones.order_by("pk").values_list("pk", flat=True))
    Milestone.objects.filter(pk__in=moved["milestones"]).update(action=kept)
    linked = set(kept.indicator_links.values_list("indicator_id", flat=True))
    moved["indicator_links"] = [
        pk for pk, ind in retired.indicator_links.order_by("pk").values_list("pk", "indicator_id") if ind not in linked
    ]
    ActionIndicator.objects.filter(pk__in=moved["indicator_links"]).update(action=kept)

    for name in MERGED_LINKS:
        theirs = set(getattr(retired, name).values_list("pk", flat=True))
        mine = set(getattr(kept, name).values_list("pk", flat=True))
        added = sorted(theirs - mine - {kept.pk, retired.pk})
        getattr(kept, name).add(*added)
        moved[name] = added
    # Work that waited for the retired action now waits for the shared one.
    waiting = Action.dependencies.through.objects.filter(to_action_id=retired.pk).exclude(from_action_id=kept.pk)
    dependents = []
    for from_id in waiting.values_list("from_action_id", flat=True):
        _, made = Action.dependencies.through.objects.get_or_create(from_action_id=from_id, to_action_id=kept.pk)
        if made:
            dependents.append(from_id)
    moved["dependents"] = sorted(dependents)

    now = timezone.now()
    Action.objects.filter(pk=retired.pk).update(merged_into=kept, version=F("version") + 1, updated_at=now)
    Action.objects.filter(pk=kept.pk).update(version=F("version") + 1, updated_at=now)
    record = MergeRecord.objects.create(
        kept=kept, retired=retired, reason=reason.strip(), moved=moved, merged_by=actor, merged_at=now
    )
    if retired.plan_id != kept.plan_id and not SharedAction.objects.filter(plan=retired.plan, action=kept).exists():
        SharedAction.objects.create(plan=retired.plan, action=kept, merge=record)
    for action in (kept, retired):
        action.refresh_from_db()
    forget_plan_perms(actor)
    _tell_managers(
        plans=[retired.plan, kept.plan],
        actor=actor,
        text=f"{actor} merged “{retired.title}” ({retired.plan}) into “{kept.title}” ({kept.plan}), one shared action.",
        url=reverse("duplicate_merge_detail", args=[record.pk]),
        action=kept,
    )
    return record


@records_actor
@transaction.atomic
def merge_split(*, actor: User, record: MergeRecord, reason: str = "") -> MergeRecord:
    """Undo a merge: the retired action comes back with what it brought. Permission: ``can_split_merge``.

    Milestones and indicator links go back to it (those still on the kept action), the co-owner
    rows the merge made are removed, the links the kept action gained are taken away, the
    retired plan stops showing the kept action, and the record is marked split (kept, with
    who and when). Tells both plans' managers.
    """
    record = MergeRecord.objects.select_for_update().select_related("kept__plan", "retired__plan").get(pk=record.pk)
    require(permissions.can_split_merge(actor, record))
    kept, retired = record.kept, record.retired
    _lock(kept, retired)
    moved = record.moved
    Milestone.objects.filter(pk__in=moved.get("milestones", []), action=kept).update(action=retired)
    ActionIndicator.objects.filter(pk__in=moved.get("indicator_links", []), action=kept).update(action=retired)
    ActionCoOwner.objects.filter(pk__in=moved.get("co_owners", []), action=kept).delete()
    for name in MERGED_LINKS:
        getattr(kept, name).remove(*moved.get(name, []))
    Action.dependencies.through.objects.filter(
        from_action_id__in=moved.get("dependents", []), to_action_id=kept.pk
    ).delete()
    SharedAction.objects.filter(merge=record).delete()
    now = timezone.now()
    Action.objects.filter(pk=retired.pk).update(merged_into=None, version=F("version") + 1, updated_at=now)
    Action.objects.filter(pk=kept.pk).update(version=F("version") + 1, updated_at=now)
    record.split_at, record.split_by = now, actor
    if reason.strip():
        record.reason = f"{record.reason}\n\nSplit: {reason.strip()}".strip()
    record.save(update_fields=["split_at", "split_by", "reason"])
    for action in (kept, retired):
        action.refresh_from_db()
    _tell_managers(
        plans=[retired.plan, kept.plan],
        actor=actor,
        text=f"{actor} split “{retired.title}” ({retired.plan}) back out of “{kept.title}” ({kept.plan}).",
        url=reverse("duplicate_merge_detail", args=[record.pk]),
        action=retired,
    )
    return record
