"""Every "may this user ...?" about a plan's commitment matrix, signatures and representatives.

Built on ``actionplan.permissions`` (who may see, change and manage a plan):

- **Reading** the matrix: anyone who may see the plan (``can_view_plan``); representatives see
  drafts through their ``represent_plan`` grant.
- **Recording** a partner's commitments: a member of that partner organisation (the plan's lead
  organisation or one of ``plan.partners``) holding one of ``RECORDING_ROLES``, while the plan is
  not closed. A plan manager does not record for other organisations: each partner speaks for itself.
- **Signing** a partner's commitments: its **accountable officer**, i.e. a member holding one of
  ``ACCOUNTABLE_ROLES`` in that organisation: the organisation admin (who answers for the
  organisation on the portal and grants its roles) or a commissioner (who holds the budget the
  commitments spend). Data submitters, clinicians, academics and moderators record or comment;
  they do not bind their organisation.
- **Recording why a partner has not signed**, naming and removing representatives, and asking
  partners to sign: the plan's managers (``can_manage_plan``).
- **Co-signing** the matrix: the plan's named lived-experience representatives.
- **Co-owners** of an action: the plan's editors (``can_change_plan``) add and remove them.

Strangers get 404 for a plan they may not see; readers who try to write get 403.
"""

from __future__ import annotations

from django.http import Http404

from actionplan import permissions as plan_permissions
from actionplan.models import Commitment, Plan, PlanStatus
from stakeholders.models import Organisation, Role
from stakeholders.permissions import AnyUser, _role_cache, require

ACCOUNTABLE_ROLES = frozenset({Role.ORG_ADMIN, Role.COMMISSIONER})
RECORDING_ROLES = ACCOUNTABLE_ROLES | {Role.CLINICIAN}

__all__ = [
    "ACCOUNTABLE_ROLES",
    "RECORDING_ROLES",
    "can_ask_to_sign",
    "can_cosign",
    "can_manage_co_owners",
    "can_manage_representatives",
    "can_record_for",
    "can_sign_for",
    "can_waive",
    "get_commitment_or_404",
    "partner_ids",
    "recordable_organisation_ids",
    "require",
    "signable_organisation_ids",
]


def partner_ids(plan: Plan) -> list[int]:
    """The plan's partner organisations: the lead first, then ``plan.partners`` (uses a prefetch)."""
    ids = [plan.lead_organisation_id]
    ids += [p.pk for p in plan.partners.all() if p.pk != plan.lead_organisation_id]
    return ids


def _open(user: AnyUser, plan: Plan) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and plan.status != PlanStatus.CLOSED
        and plan_permissions.can_view_plan(user, plan)
    )


def _org_ids_with(user: AnyUser, plan: Plan, roles: frozenset[str]) -> list[int]:
    if not _open(user, plan):
        return []
    held = _role_cache(user)  # {organisation id: {roles}} read once per request
    return [pk for pk in partner_ids(plan) if held.get(pk, set()) & roles]


def recordable_organisation_ids(user: AnyUser, plan: Plan) -> list[int]:
    """Partners whose commitments this user may record (lead first)."""
    return _org_ids_with(user, plan, RECORDING_ROLES)


def signable_organisation_ids(user: AnyUser, plan: Plan) -> list[int]:
    """Partners this user may sign for as their accountable officer."""
    return _org_ids_with(user, plan, ACCOUNTABLE_ROLES)


def can_record_for(user: AnyUser, plan: Plan, organisation: Organisation | int) -> bool:
    pk = organisation if isinstance(organisation, int) else organisation.pk
    return pk in recordable_organisation_ids(user, plan)


def can_sign_for(user: AnyUser, plan: Plan, organisation: Organisation | int) -> bool:
    pk = organisation if isinstance(organisation, int) else organisation.pk
    return pk in signable_organisation_ids(user, plan)


def can_waive(user: AnyUser, plan: Plan) -> bool:
    """Record (or clear) why a partner has not signed: the plan's managers, while it is not closed."""
    return plan.status != PlanStatus.CLOSED and plan_permissions.can_manage_plan(user, plan)


can_ask_to_sign = can_waive


def can_manage_representatives(user: AnyUser, plan: Plan) -> bool:
    return plan.status != PlanStatus.CLOSED and plan_permissions.can_manage_plan(user, plan)


def can_cosign(user: AnyUser, plan: Plan) -> bool:
    """A named representative co-signs the matrix (the grant is cached per request: no query)."""
    return (
        user.is_authenticated
        and plan.status != PlanStatus.CLOSED
        and plan_permissions.REPRESENT in plan_permissions.plan_perms(user, plan)
    )


def can_manage_co_owners(user: AnyUser, plan: Plan) -> bool:
    return plan_permissions.can_change_plan(user, plan)


def get_commitment_or_404(plan: Plan, pk: int | str) -> Commitment:
    """A commitment of a plan the caller already fetched with ``get_plan_for_user_or_404``."""
    try:
        commitment = Commitment.objects.select_related("organisation", "key_step").get(pk=pk, plan=plan)
    except (Commitment.DoesNotExist, ValueError):
        raise Http404 from None
    commitment.plan = plan
    return commitment
