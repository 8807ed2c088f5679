"""Every "may this user ...?" about partnerships, contracts, measures and performance.

- Partnerships work in the open: anyone reads a partnership, its terms of reference,
  meetings and decisions log. Commissioners (commissioner role) of a member organisation
  manage it; any commissioner may start one, led by their own organisation.
- A contract is managed by commissioners of its commissioning organisation, or of any
  member organisation of its commissioning partnership (and by staff).
- Members of its provider organisations (any role) read it, its measures and performance;
  in an alliance every partner sees every shared measure.
- Anyone else sees the public summary (title, parties, boroughs, form, status, value band)
  when the contract is publishable, and a 404 when it is not.

Answers come from the user's memberships, read once per request (two small queries) and
cached on the user object. No object-level grants are needed, so guardian is not used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from commissioning.models import Contract, ContractProvider, Partnership, PartnershipMember
from outcomes.permissions import commissioned_boroughs
from stakeholders.models import COMMISSIONER_TYPES, Membership, Organisation, Role, User
from stakeholders.permissions import require

AnyUser = User | AnonymousUser


@dataclass(frozen=True)
class Access:
    commissioner_orgs: frozenset[int]  # commissioning organisations where the user is a commissioner
    partnerships: frozenset[int]  # partnerships with one of those organisations as a member
    member_orgs: frozenset[int]  # every organisation the user belongs to, in any role


NO_ACCESS = Access(frozenset(), frozenset(), frozenset())


def access_for(user: AnyUser) -> Access:
    if not user.is_authenticated:
        return NO_ACCESS
    cached = getattr(user, "_lmh_commissioning", None)
    if cached is not None:
        return cached
    member_orgs: set[int] = set()
    commissioner_orgs: set[int] = set()
    rows = Membership.objects.filter(user=user).order_by().values_list("organisation_id", "role", "organisation__type")
    for org_id, role, org_type in rows:
        member_orgs.add(org_id)
        if role == Role.COMMISSIONER and org_type in COMMISSIONER_TYPES:
            commissioner_orgs.add(org_id)
    partnerships: set[int] = set()
    if commissioner_orgs:
        partnerships = set(
            PartnershipMember.objects.filter(organisation_id__in=commissioner_orgs)
            .order_by()
            .values_list("partnership_id", flat=True)
        )
    access = Access(frozenset(commissioner_orgs), frozenset(partnerships), frozenset(member_orgs))
    user._lmh_commissioning = access  # type: ignore[union-attr]
    return access


class ContractAccess(StrEnum):
    MANAGE = "manage"
    READ = "read"
    PUBLIC = "public"


# Partnerships ----------------------------------------------------------------------------


def can_create_partnership(user: AnyUser) -> bool:
    return user.is_authenticated and (user.is_staff or bool(access_for(user).commissioner_orgs))


def can_manage_partnership(user: AnyUser, partnership: Partnership) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or partnership.pk in access_for(user).partnerships


def partnership_lead_choices(user: AnyUser, partnership: Partnership | None = None) -> QuerySet[Organisation]:
    """Organisations this user may name as a partnership's lead commissioner.

    Their own commissioning organisations; when editing, the partnership's members too
    (a member may hand the lead to another member).
    """
    qs = Organisation.objects.filter(type__in=list(COMMISSIONER_TYPES)).order_by("name")
    if user.is_authenticated and user.is_staff:
        return qs
    allowed = Q(pk__in=access_for(user).commissioner_orgs)
    if partnership is not None:
        allowed |= Q(pk__in=PartnershipMember.objects.filter(partnership=partnership).values("organisation_id"))
    return qs.filter(allowed)


# Contracts -------------------------------------------------------------------------------


def can_create_contract(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    access = access_for(user)
    return user.is_staff or bool(access.commissioner_orgs or access.partnerships)


def commissioner_organisation_choices(user: AnyUser) -> QuerySet[Organisation]:
    qs = Organisation.objects.filter(type__in=list(COMMISSIONER_TYPES)).order_by("name")
    if user.is_authenticated and user.is_staff:
        return qs
    return qs.filter(pk__in=access_for(user).commissioner_orgs)


def commissioner_partnership_choices(user: AnyUser) -> QuerySet[Partnership]:
    qs = Partnership.objects.order_by("name")
    if user.is_authenticated and user.is_staff:
        return qs
    return qs.filter(pk__in=access_for(user).partnerships)


def can_manage_contract(user: AnyUser, contract: Contract) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    access = access_for(user)
    return (
        contract.commissioner_organisation_id in access.commissioner_orgs
        or contract.commissioner_partnership_id in access.partnerships
    )


def contract_access(user: AnyUser, contract: Contract) -> ContractAccess | None:
    """How much of the contract this user may see: manage, read, the public summary, or nothing.

    Uses `contract.providers` (prefetch it when asking about many contracts).
    """
    if can_manage_contract(user, contract):
        return ContractAccess.MANAGE
    member_orgs = access_for(user).member_orgs
    if member_orgs and any(p.organisation_id in member_orgs for p in contract.providers.all()):
        return ContractAccess.READ
    if contract.publishable:
        return ContractAccess.PUBLIC
    return None


def manageable_q(user: AnyUser) -> Q:
    """Contracts this user manages, as a filter (no queries of its own beyond access_for)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_staff:
        return Q()
    access = access_for(user)
    return Q(commissioner_organisation_id__in=access.commissioner_orgs) | Q(
        commissioner_partnership_id__in=access.partnerships
    )


def readable_q(user: AnyUser) -> Q:
    """Contracts this user reads in full: managed ones and those their organisations provide."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_staff:
        # Not an empty Q(): Q() | X is X (staff would see only publishable contracts) and
        # When(Q()) is refused.
        return Q(pk__isnull=False)
    provides = Exists(
        ContractProvider.objects.filter(contract=OuterRef("pk"), organisation_id__in=access_for(user).member_orgs)
    )
    return manageable_q(user) | Q(provides)


def readable_contracts(user: AnyUser) -> QuerySet[Contract]:
    return Contract.objects.filter(readable_q(user))


def visible_contracts(user: AnyUser) -> QuerySet[Contract]:
    """Contracts the user reads in full, plus the publishable ones (seen as a summary)."""
    return Contract.objects.filter(readable_q(user) | Q(publishable=True))


def get_contract_for_user_or_404(user: AnyUser, pk: int, *, write: bool = False) -> tuple[Contract, ContractAccess]:
    """The contract and the user's access to it.

    A private contract the user may not read is a 404 (its existence must not leak); a
    write by someone who may only read it, or see its public summary, is a 403.
    """
    contract = (
        Contract.objects.with_status()
        .select_related("commissioner_organisation", "commissioner_partnership")
        .prefetch_related("providers__organisation", "boroughs")
        .filter(pk=pk)
        .first()
    )
    if contract is None:
        raise Http404
    access = contract_access(user, contract)
    if access is None:
        raise Http404
    if write:
        require(access == ContractAccess.MANAGE)
    return contract, access


def can_view_performance(access: ContractAccess | None) -> bool:
    """Performance (measures, figures, money earned and at risk) is for managers and providers."""
    return access in (ContractAccess.MANAGE, ContractAccess.READ)


def sees_exact_performance(user: AnyUser, contract: Contract) -> bool:
    """Unrounded performance figures are for commissioners of every borough the contract covers.

    Everyone else who may see performance (the contract's providers, a partnership member
    commissioning only some of its boroughs, staff) sees it under the dashboards' disclosure
    control, as outcomes.permissions decides for borough figures. One query; needs
    `contract.boroughs` prefetched.
    """
    if not user.is_authenticated:
        return False
    boroughs = {b.pk for b in contract.boroughs.all()}
    if not boroughs:
        return False
    return boroughs <= set(commissioned_boroughs(user).filter(pk__in=boroughs).values_list("pk", flat=True))
