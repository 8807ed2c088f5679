"""May this user see candidate duplicates, dismiss a pair, merge it or split a merge?

- Anyone signed in sees the candidate pairs among the plans they may read (a pair is listed
  only when both of its plans are readable to them); anonymous visitors are sent to sign in.
- Dismissing a pair ("not the same work"), or un-dismissing it: a manager (``manage_plan``)
  of either plan, while neither plan is closed.
- Merging: a manager of both plans (one person holding ``manage_plan`` on each; a superuser
  holds it everywhere). A manager of one plan only may propose the merge, which tells the
  other plan's managers, one of whom then merges. This is the simplest design that keeps
  "managers of both plans agree": the person who merges answers for both plans.
- Splitting a merge: as merging, a manager of both plans.

A stranger asking about a pair in a plan they may not read gets 404; a reader who may not
write gets 403.
"""

from __future__ import annotations

from django.http import Http404

from actionplan.duplicates.models import DismissedPair, MergeRecord
from actionplan.models import Action, Plan, PlanStatus
from actionplan.permissions import AnyUser, can_manage_plan, can_view_plan, require

__all__ = [
    "can_dismiss_pair",
    "can_merge_pair",
    "can_propose_merge",
    "can_see_duplicates",
    "can_split_merge",
    "get_dismissal_or_404",
    "get_merge_or_404",
    "get_pair_or_404",
    "require",
]


def can_see_duplicates(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_active


def _manages(user: AnyUser, plan: Plan) -> bool:
    return plan.status != PlanStatus.CLOSED and can_manage_plan(user, plan)


def can_dismiss_pair(user: AnyUser, a: Action, b: Action) -> bool:
    return _manages(user, a.plan) or _manages(user, b.plan)


def can_merge_pair(user: AnyUser, a: Action, b: Action) -> bool:
    return _manages(user, a.plan) and _manages(user, b.plan)


def can_propose_merge(user: AnyUser, a: Action, b: Action) -> bool:
    """A manager of one of the two plans who cannot merge alone asks the other plan's managers."""
    return can_dismiss_pair(user, a, b) and not can_merge_pair(user, a, b)


def can_split_merge(user: AnyUser, record: MergeRecord) -> bool:
    return record.is_live and _manages(user, record.kept.plan) and _manages(user, record.retired.plan)


def _action_or_404(user: AnyUser, pk: int) -> Action:
    action = Action.objects.select_related("plan", "owner_organisation", "key_step").filter(pk=pk).first()
    if action is None or not can_view_plan(user, action.plan):
        raise Http404
    return action


def get_pair_or_404(user: AnyUser, a_id: int, b_id: int, *, live: bool = True) -> tuple[Action, Action]:
    """Both actions, lower id first: 404 unless both exist, differ, are readable and (``live``) not retired."""
    if a_id == b_id:
        raise Http404
    a, b = sorted((_action_or_404(user, a_id), _action_or_404(user, b_id)), key=lambda x: x.pk)
    if live and (a.is_retired or b.is_retired):
        raise Http404
    return a, b


def get_dismissal_or_404(user: AnyUser, pk: int) -> DismissedPair:
    row = DismissedPair.objects.select_related("action_a__plan", "action_b__plan").filter(pk=pk).first()
    if row is None or not (can_view_plan(user, row.action_a.plan) and can_view_plan(user, row.action_b.plan)):
        raise Http404
    return row


def get_merge_or_404(user: AnyUser, pk: int) -> MergeRecord:
    record = (
        MergeRecord.objects.select_related("kept__plan", "retired__plan", "merged_by", "split_by").filter(pk=pk).first()
    )
    if record is None or not (can_view_plan(user, record.kept.plan) and can_view_plan(user, record.retired.plan)):
        raise Http404
    return record
