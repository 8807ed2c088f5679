"""Every "may this user ...?" question about plans, actions and evidence.

Per-plan permissions live in guardian's direct foreign-key tables
(``PlanUserObjectPermission`` for a person, ``PlanGroupObjectPermission`` for a whole
organisation through its auth group). The codenames and what they imply:

============== ===================================================================
``view_plan``    see a partners-only plan (public plans need no grant once out of draft)
``comment_plan`` comment on the plan (implies view)
``change_plan``  edit the plan, its actions and milestones (implies view)
``respond_plan`` give official responses to comments (implies view)
``manage_plan``  all of the above, change status, grant and revoke (creator gets it)
``represent_plan`` a lived-experience representative (implies comment and view); given and
                 taken only by naming one (``actionplan.commitments.services``)
============== ===================================================================

Rules that are not grants:

- A public plan is readable by anyone, anonymous included, once it leaves draft. Drafts
  are seen only by people holding a grant.
- Closed plans are read-only: nobody changes them until a manager reopens the plan.
- Commenting is open (consultation and active plans only, never draft or closed) to
  signed-in service users and carers, clinicians, members of the lead and partner
  organisations, and anyone given ``comment_plan`` or ``change_plan``. While a plan is a
  draft, its lived-experience representatives alone may comment: they comment first (issue 23).
- Superusers hold every permission; staff status alone gives none here.

Permissions are read once per request: :func:`plan_perms` caches per plan on the
request's user object, and :func:`prefetch_plan_perms` fills that cache for a whole
page of plans in one query.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from actionplan.models import (
    Action,
    EvidenceItem,
    Milestone,
    Plan,
    PlanGroupObjectPermission,
    PlanStatus,
    PlanUserObjectPermission,
    PlanVisibility,
)
from stakeholders.models import Organisation, Role, User
from stakeholders.permissions import _role_cache, has_role, require

AnyUser = User | AnonymousUser

VIEW = "view_plan"
COMMENT = "comment_plan"
CHANGE = "change_plan"
RESPOND = "respond_plan"
MANAGE = "manage_plan"
REPRESENT = "represent_plan"
PLAN_PERMISSIONS = (VIEW, COMMENT, CHANGE, RESPOND, MANAGE)

# What each grant implies (itself included).
IMPLIES: dict[str, frozenset[str]] = {
    VIEW: frozenset({VIEW}),
    COMMENT: frozenset({COMMENT, VIEW}),
    CHANGE: frozenset({CHANGE, COMMENT, VIEW}),
    RESPOND: frozenset({RESPOND, VIEW}),
    MANAGE: frozenset(PLAN_PERMISSIONS),
    REPRESENT: frozenset({REPRESENT, COMMENT, VIEW}),
}

# The grant levels offered on the "people and organisations" tab, weakest first.
GRANT_LEVELS = (VIEW, COMMENT, CHANGE, RESPOND, MANAGE)

OPEN_FOR_COMMENT = frozenset({PlanStatus.CONSULTATION, PlanStatus.ACTIVE})

__all__ = [
    "CHANGE",
    "COMMENT",
    "MANAGE",
    "RESPOND",
    "VIEW",
    "can_change_plan",
    "can_comment_on_plan",
    "can_create_plan",
    "can_edit_evidence",
    "can_manage_plan",
    "can_publish_evidence",
    "can_respond_to_comments",
    "can_update_action",
    "can_view_plan",
    "get_action_for_user_or_404",
    "get_milestone_for_user_or_404",
    "get_plan_for_user_or_404",
    "plan_perms",
    "plans_visible_to",
    "prefetch_plan_perms",
    "require",
]


def _cache(user: AnyUser) -> dict[int, frozenset[str]]:
    cache = getattr(user, "_lmh_plan_perms", None)
    if cache is None:
        cache = {}
        if user.is_authenticated:
            user._lmh_plan_perms = cache  # type: ignore[union-attr]
    return cache


def forget_plan_perms(user: AnyUser) -> None:
    """Drop the cached grants after they change (services call this for the acting user)."""
    if hasattr(user, "_lmh_plan_perms"):
        del user._lmh_plan_perms  # type: ignore[union-attr]


def _granted_rows(user: User, plan_ids: Iterable[int]) -> QuerySet:
    """(plan id, codename) for the user's own grants and their organisations' grants: one query."""
    ids = list(plan_ids)
    mine = PlanUserObjectPermission.objects.filter(user=user, content_object_id__in=ids).values_list(
        "content_object_id", "permission__codename"
    )
    theirs = PlanGroupObjectPermission.objects.filter(group__user=user, content_object_id__in=ids).values_list(
        "content_object_id", "permission__codename"
    )
    return mine.order_by().union(theirs.order_by())


def prefetch_plan_perms(user: AnyUser, plans: Iterable[Plan]) -> None:
    """Read the user's grants on all ``plans`` in one query (for list pages)."""
    if not user.is_authenticated or not user.is_active or user.is_superuser:
        return
    cache = _cache(user)
    missing = {p.pk for p in plans if p.pk not in cache}
    if not missing:
        return
    found: dict[int, set[str]] = {pk: set() for pk in missing}
    for plan_id, codename in _granted_rows(user, missing):
        found[plan_id] |= IMPLIES.get(codename, frozenset())
    for pk, perms in found.items():
        cache[pk] = frozenset(perms)


def plan_perms(user: AnyUser, plan: Plan) -> frozenset[str]:
    """The plan permissions this user holds through grants (implications applied).

    Public visibility is not a grant: ask :func:`can_view_plan` for reading.
    """
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(PLAN_PERMISSIONS)
    cache = _cache(user)
    if plan.pk not in cache:
        prefetch_plan_perms(user, [plan])
    return cache[plan.pk]


def can_view_plan(user: AnyUser, plan: Plan) -> bool:
    if plan.visibility == PlanVisibility.PUBLIC and plan.status != PlanStatus.DRAFT:
        return True
    return VIEW in plan_perms(user, plan)


def can_change_plan(user: AnyUser, plan: Plan) -> bool:
    """Edit the plan's details, actions and milestones (closed plans are read-only)."""
    return plan.status != PlanStatus.CLOSED and CHANGE in plan_perms(user, plan)


def can_update_action(user: AnyUser, action: Action) -> bool:
    """Update an action's status, progress, milestones and progress notes (not its other details).

    The plan's editors, and the people who do the work: the action's accountable lead and the
    members of its owner organisation, while they may read the plan (issue 19, "Action owners").
    """
    plan = action.plan
    if can_change_plan(user, plan):
        return True
    if not user.is_authenticated or not user.is_active or plan.status == PlanStatus.CLOSED:
        return False
    if not can_view_plan(user, plan):
        return False
    return action.lead_id == user.pk or action.owner_organisation_id in _role_cache(user)


def can_manage_plan(user: AnyUser, plan: Plan) -> bool:
    """Change the plan's status and its grants."""
    return MANAGE in plan_perms(user, plan)


def is_plan_organisation_member(user: AnyUser, plan: Plan) -> bool:
    """A member of the plan's lead or partner organisations (uses ``plan.partners`` prefetch if present)."""
    org_ids = set(_role_cache(user))
    if not org_ids:
        return False
    if plan.lead_organisation_id in org_ids:
        return True
    return any(p.pk in org_ids for p in plan.partners.all())


def can_comment_on_plan(user: AnyUser, plan: Plan) -> bool:
    """Comment on a plan or its actions (issue 6 asks this).

    A draft is open to its lived-experience representatives only: they comment first, before
    the plan opens to anyone else (issue 23).
    """
    if plan.status == PlanStatus.DRAFT and user.is_authenticated:
        return REPRESENT in plan_perms(user, plan)
    if not user.is_authenticated or plan.status not in OPEN_FOR_COMMENT or not can_view_plan(user, plan):
        return False
    if COMMENT in plan_perms(user, plan):
        return True
    if getattr(user, "has_lived_experience", False) or has_role(user, Role.CLINICIAN):
        return True
    return is_plan_organisation_member(user, plan)


def can_respond_to_comments(user: AnyUser, plan: Plan) -> bool:
    """Give the official response to comments: managers and people granted ``respond_plan``."""
    return plan.status != PlanStatus.DRAFT and RESPOND in plan_perms(user, plan)


def can_create_plan(user: AnyUser) -> bool:
    """Commissioners start plans (and superusers, or anyone given the global ``add_plan``)."""
    return user.is_authenticated and (has_role(user, Role.COMMISSIONER) or user.has_perm("actionplan.add_plan"))


def can_publish_evidence(user: AnyUser) -> bool:
    """Academics, clinicians and commissioners publish to the evidence library."""
    return user.is_authenticated and (
        user.is_superuser or any(has_role(user, r) for r in (Role.ACADEMIC, Role.CLINICIAN, Role.COMMISSIONER))
    )


def can_edit_evidence(user: AnyUser, item: EvidenceItem) -> bool:
    """Whoever published an item, and publishers in the item's organisation, keep it up to date."""
    if not can_publish_evidence(user):
        return False
    if user.is_superuser or item.published_by_id == user.pk:
        return True
    return item.organisation_id is not None and item.organisation_id in _role_cache(user)


def plans_visible_to(user: AnyUser) -> QuerySet[Plan]:
    """Every plan the user may read: public ones out of draft plus those granted to them or their organisations."""
    plans = Plan.objects.all()
    if user.is_authenticated and user.is_active and user.is_superuser:
        return plans
    public = Q(visibility=PlanVisibility.PUBLIC) & ~Q(status=PlanStatus.DRAFT)
    if not user.is_authenticated or not user.is_active:
        return plans.filter(public)
    # Any grant implies view, so the grant tables answer alone; both are indexed on (who, permission).
    mine = PlanUserObjectPermission.objects.filter(user=user).values("content_object_id")
    theirs = PlanGroupObjectPermission.objects.filter(group__user=user).values("content_object_id")
    return plans.filter(public | Q(pk__in=mine) | Q(pk__in=theirs))


def get_plan_for_user_or_404(user: AnyUser, slug: str, write: bool = False, queryset: QuerySet | None = None) -> Plan:
    """The plan with ``slug``: 404 to anyone who may not see it, 403 to a reader asking to write."""
    qs = queryset if queryset is not None else Plan.objects.select_related("lead_organisation")
    try:
        plan = qs.get(slug=slug)
    except Plan.DoesNotExist:
        raise Http404 from None
    if not can_view_plan(user, plan):
        raise Http404
    if write:
        require(can_change_plan(user, plan))
    return plan


def get_action_for_user_or_404(user: AnyUser, plan: Plan, pk: int, write: bool = False) -> Action:
    """An action of a plan the caller has already fetched with :func:`get_plan_for_user_or_404`."""
    try:
        action = Action.objects.select_related("key_step", "owner_organisation", "lead").get(pk=pk, plan=plan)
    except (Action.DoesNotExist, ValueError):
        raise Http404 from None
    action.plan = plan
    if write:
        require(can_change_plan(user, plan))
    return action


def get_milestone_for_user_or_404(user: AnyUser, action: Action, pk: int, write: bool = False) -> Milestone:
    try:
        milestone = Milestone.objects.get(pk=pk, action=action)
    except (Milestone.DoesNotExist, ValueError):
        raise Http404 from None
    milestone.action = action
    if write:
        require(can_update_action(user, action))
    return milestone


def lead_choices(user: User, current: Organisation | None = None) -> QuerySet[Organisation]:
    """Organisations a user may name as a plan's lead: those they commission for (any, for superusers),
    and the plan's current lead, which an edit may keep."""
    if user.is_superuser:
        return Organisation.objects.order_by("name")
    qs = Organisation.objects.filter(memberships__user=user, memberships__role=Role.COMMISSIONER)
    if current is not None:
        qs = Organisation.objects.filter(Q(pk__in=qs.values("pk")) | Q(pk=current.pk))
    return qs.distinct().order_by("name")
