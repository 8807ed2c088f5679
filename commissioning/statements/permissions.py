"""Every "may this user ...?" about payment statements.

- The commissioner side is the people who may manage the contract for an organisation
  (commissioners of its commissioning organisation, or of a member of its commissioning
  partnership): they draft statements, refresh their figures, and agree or dispute lines
  for the commissioner.
- The provider side is the members of the contract's party providers: the lead provider
  (single-provider and lead-provider contracts), or every alliance partner of an alliance
  contract, each of which records its own stance and all of which must agree.
- Subcontractors read the contract's statements but take no stance.
- Staff read every statement (as they read every contract) but act for no party: a stance is
  always taken for an organisation.
- Everyone else gets a 404: the figures and money are private commercial information, even on a
  contract whose summary is public.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from commissioning.models import Contract, PartnershipMember, ProviderRole
from commissioning.permissions import AnyUser, ContractAccess, access_for, contract_access
from commissioning.statements.models import Party, PaymentStatement
from commissioning.statements.selectors import statement_for_page
from stakeholders.permissions import require


@dataclass(frozen=True)
class StatementRole:
    """What one person may do with a contract's statements: read, and act for which party and organisation."""

    party: str | None  # Party.COMMISSIONER, Party.PROVIDER, or None (reads only)
    organisation_id: int | None

    @property
    def acts(self) -> bool:
        return self.party is not None

    @property
    def drafts(self) -> bool:
        return self.party == Party.COMMISSIONER


def party_provider_ids(contract: Contract) -> list[int]:
    """The provider organisations that agree a statement: every provider but subcontractors (prefetched)."""
    return sorted(p.organisation_id for p in contract.providers.all() if p.role != ProviderRole.SUBCONTRACTOR)


def _commissioner_organisation_id(user: AnyUser, contract: Contract) -> int | None:
    access = access_for(user)
    if contract.commissioner_organisation_id in access.commissioner_orgs:
        return contract.commissioner_organisation_id
    if contract.commissioner_partnership_id in access.partnerships:
        return (
            PartnershipMember.objects.filter(
                partnership_id=contract.commissioner_partnership_id, organisation_id__in=access.commissioner_orgs
            )
            .order_by("organisation__name", "organisation_id")
            .values_list("organisation_id", flat=True)
            .first()
        )
    return None


def statement_role(user: AnyUser, contract: Contract) -> StatementRole | None:
    """None when the user may not see the contract's statements at all (a 404)."""
    if not user.is_authenticated:
        return None
    access = contract_access(user, contract)
    if access not in (ContractAccess.MANAGE, ContractAccess.READ):
        return None
    cached = getattr(contract, "_lmh_statement_role", {}).get(user.pk)
    if cached is not None:
        return cached
    role = StatementRole(None, None)
    commissioner_org = _commissioner_organisation_id(user, contract) if access == ContractAccess.MANAGE else None
    if commissioner_org is not None:
        role = StatementRole(Party.COMMISSIONER, commissioner_org)
    else:
        mine = [org for org in party_provider_ids(contract) if org in access_for(user).member_orgs]
        if mine:
            role = StatementRole(Party.PROVIDER, mine[0])
    contract._lmh_statement_role = {user.pk: role}  # type: ignore[attr-defined]
    return role


def get_contract_statements_or_404(user: AnyUser, contract: Contract) -> StatementRole:
    role = statement_role(user, contract)
    if role is None:
        raise Http404
    return role


def get_statement_for_user_or_404(
    user: AnyUser, pk: int, *, act: bool = False
) -> tuple[PaymentStatement, StatementRole]:
    """The statement (lines, stances and messages prefetched) and what the user may do with it.

    A statement of a contract the user may not read in full is a 404; acting (a stance, a
    message, a refresh) by someone who only reads it is a 403.
    """
    statement = statement_for_page(pk)
    if statement is None:
        raise Http404
    role = get_contract_statements_or_404(user, statement.contract)
    if act:
        require(role.acts)
    return statement, role
