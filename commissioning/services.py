"""Every write to partnerships, contracts and contract measures (meetings and decisions: decisions/services.py).

Callers (views, the API, demo data) have already asked commissioning.permissions whether
the actor may make the change; these functions enforce the rules of the data itself and
record who did it (pghistory's context carries the request's user). None sends email or
enqueues tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.text import slugify

from actionplan.models import Plan
from commissioning.models import (
    FULL_SHARE_BP,
    Contract,
    ContractForm,
    ContractMeasure,
    ContractProvider,
    MemberRole,
    Partnership,
    PartnershipMember,
    PartnershipScope,
    ProviderRole,
)
from kernel.concurrency import Gone, delete_versioned, update_versioned
from kernel.history import records_actor
from outcomes.models import Indicator
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Organisation, User

ProviderSpec = tuple[Organisation, str]


# Partnerships ----------------------------------------------------------------------------


def _check_members(lead: Organisation, members: Iterable[Organisation]) -> list[Organisation]:
    members = [m for m in dict.fromkeys(members) if m.pk != lead.pk]
    for org in [lead, *members]:
        if org.type not in COMMISSIONER_TYPES:
            raise ValidationError(
                {"members": f"{org.name} is not a commissioner (an ICB or a local authority) and cannot be a member."}
            )
    return members


def _check_scope(scope: str, sub_region: Area | None, boroughs: Sequence[Area]) -> None:
    if scope == PartnershipScope.SUB_REGION and sub_region is None:
        raise ValidationError({"sub_region": "Choose the ICS sub-region this partnership covers."})
    if scope != PartnershipScope.SUB_REGION and sub_region is not None:
        raise ValidationError({"sub_region": "Only a sub-region partnership names an ICS sub-region."})
    if scope == PartnershipScope.BOROUGHS and len(boroughs) < 2:
        raise ValidationError({"boroughs": "A group-of-boroughs partnership covers at least two boroughs."})
    if any(b.level != AreaLevel.BOROUGH for b in boroughs):
        raise ValidationError({"boroughs": "Only boroughs can be chosen."})


def _boroughs_for_scope(scope: str, sub_region: Area | None, boroughs: Sequence[Area]) -> list[Area]:
    if scope == PartnershipScope.PAN_LONDON:
        return list(Area.objects.boroughs())
    if scope == PartnershipScope.SUB_REGION and sub_region is not None:
        return list(Area.objects.boroughs().filter(parent=sub_region))
    return list(boroughs)


@records_actor
@transaction.atomic
def partnership_create(
    *,
    actor: User | None,
    name: str,
    scope: str,
    lead: Organisation,
    members: Iterable[Organisation] = (),
    sub_region: Area | None = None,
    boroughs: Sequence[Area] = (),
    terms_of_reference: str = "",
    slug: str = "",
    plans: Iterable[Plan] = (),
) -> Partnership:
    """Create a partnership with its lead commissioner and members.

    Assumes the actor commissions for `lead` (permissions.can_create_partnership_for).
    Pan-London and sub-region partnerships cover their boroughs automatically.
    """
    members = _check_members(lead, members)
    _check_scope(scope, sub_region, boroughs)
    partnership = Partnership(
        name=name.strip(),
        slug=slug or slugify(name)[:200],
        scope=scope,
        sub_region=sub_region,
        terms_of_reference=terms_of_reference,
    )
    partnership.full_clean()
    partnership.save()
    partnership.boroughs.set(_boroughs_for_scope(scope, sub_region, boroughs))
    partnership.plans.set(list(plans))
    PartnershipMember.objects.bulk_create(
        [PartnershipMember(partnership=partnership, organisation=lead, role=MemberRole.LEAD)]
        + [PartnershipMember(partnership=partnership, organisation=m, role=MemberRole.MEMBER) for m in members]
    )
    return partnership


@records_actor
@transaction.atomic
def partnership_update(
    *,
    actor: User | None,
    partnership: Partnership,
    name: str,
    scope: str,
    lead: Organisation,
    members: Iterable[Organisation] = (),
    sub_region: Area | None = None,
    boroughs: Sequence[Area] = (),
    terms_of_reference: str = "",
    plans: Iterable[Plan] | None = None,
) -> Partnership:
    """Change a partnership, its scope, membership and (when given) linked plans.

    Assumes permissions.can_manage_partnership, and that the actor may see the plans linked.
    """
    members = _check_members(lead, members)
    _check_scope(scope, sub_region, boroughs)
    partnership.name = name.strip()
    partnership.scope = scope
    partnership.sub_region = sub_region
    partnership.terms_of_reference = terms_of_reference
    partnership.full_clean()
    partnership.save()
    partnership.boroughs.set(_boroughs_for_scope(scope, sub_region, boroughs))
    if plans is not None:
        partnership.plans.set(list(plans))
    partnership.members.all().delete()
    PartnershipMember.objects.bulk_create(
        [PartnershipMember(partnership=partnership, organisation=lead, role=MemberRole.LEAD)]
        + [PartnershipMember(partnership=partnership, organisation=m, role=MemberRole.MEMBER) for m in members]
    )
    return partnership


# Meetings and decisions live in commissioning.decisions.services (issue 22).


# Contracts -------------------------------------------------------------------------------

# Which provider roles each contract form allows, and how many of each (min, max; None: no limit).
FORM_RULES: dict[str, dict[str, tuple[int, int | None]]] = {
    ContractForm.SINGLE: {ProviderRole.LEAD: (1, 1)},
    ContractForm.LEAD_PROVIDER: {ProviderRole.LEAD: (1, 1), ProviderRole.SUBCONTRACTOR: (1, None)},
    ContractForm.ALLIANCE: {ProviderRole.ALLIANCE_PARTNER: (2, None)},
}
FORM_RULE_TEXT = {
    ContractForm.SINGLE: "A single-provider contract has exactly one provider, the lead provider, and no others.",
    ContractForm.LEAD_PROVIDER: (
        "A lead-provider contract has exactly one lead provider and at least one subcontractor, "
        "and no alliance partners."
    ),
    ContractForm.ALLIANCE: (
        "An alliance contract has at least two alliance partners and no lead provider or subcontractors."
    ),
}


def validate_providers(form: str, providers: Sequence[ProviderSpec], commissioner: Organisation | None) -> None:
    """The providers fit the contract form (FORM_RULES); nobody appears twice; the commissioner is not one."""
    orgs = [org.pk for org, _ in providers]
    if len(orgs) != len(set(orgs)):
        raise ValidationError({"providers": "An organisation can hold only one role in a contract."})
    if commissioner is not None and commissioner.pk in orgs:
        raise ValidationError({"providers": "The commissioning organisation cannot also be a provider."})
    for org, _ in providers:
        if org.type in COMMISSIONER_TYPES:
            raise ValidationError({"providers": f"{org.name} is a commissioner, not a provider."})
    rules = FORM_RULES[ContractForm(form)]
    counts: dict[str, int] = {}
    for _, role in providers:
        counts[role] = counts.get(role, 0) + 1
    for role in counts:
        if role not in rules:
            raise ValidationError({"providers": FORM_RULE_TEXT[form]})
    for role, (low, high) in rules.items():
        count = counts.get(role, 0)
        if count < low or (high is not None and count > high):
            raise ValidationError({"providers": FORM_RULE_TEXT[form]})


def _check_commissioner(organisation: Organisation | None, partnership: Partnership | None) -> None:
    if (organisation is None) == (partnership is None):
        raise ValidationError(
            {"commissioner_organisation": "Choose either a commissioning organisation or a partnership, not both."}
        )
    if organisation is not None and organisation.type not in COMMISSIONER_TYPES:
        raise ValidationError(
            {"commissioner_organisation": f"{organisation.name} is not a commissioner (an ICB or a local authority)."}
        )


def _check_boroughs(boroughs: Sequence[Area]) -> None:
    if not boroughs:
        raise ValidationError({"boroughs": "Choose at least one borough the contract covers."})
    if any(b.level != AreaLevel.BOROUGH for b in boroughs):
        raise ValidationError({"boroughs": "Only boroughs can be chosen."})


def _set_providers(contract: Contract, providers: Sequence[ProviderSpec]) -> None:
    wanted = {org.pk: role for org, role in providers}
    current = {p.organisation_id: p for p in contract.providers.all()}
    contract.providers.exclude(organisation_id__in=wanted).delete()
    for org_id, role in wanted.items():
        existing = current.get(org_id)
        if existing is None:
            ContractProvider.objects.create(contract=contract, organisation_id=org_id, role=role)
        elif existing.role != role:
            existing.role = role
            existing.save(update_fields=["role"])


@records_actor
@transaction.atomic
def contract_create(
    *,
    actor: User | None,
    reference: str,
    title: str,
    service_description: str,
    form: str,
    providers: Sequence[ProviderSpec],
    boroughs: Sequence[Area],
    annual_value_pence: int,
    start_date: dt.date,
    end_date: dt.date,
    commissioner_organisation: Organisation | None = None,
    commissioner_partnership: Partnership | None = None,
    agreed: bool = False,
    publishable: bool = False,
) -> Contract:
    """Create a contract with its providers and boroughs.

    Assumes the actor may commission for the chosen commissioner
    (permissions.commissioner_choices). Raises ValidationError naming the field at fault.
    """
    _check_commissioner(commissioner_organisation, commissioner_partnership)
    validate_providers(form, providers, commissioner_organisation)
    _check_boroughs(boroughs)
    contract = Contract(
        reference=reference.strip(),
        title=title.strip(),
        service_description=service_description,
        commissioner_organisation=commissioner_organisation,
        commissioner_partnership=commissioner_partnership,
        form=form,
        annual_value_pence=annual_value_pence,
        start_date=start_date,
        end_date=end_date,
        agreed=agreed,
        publishable=publishable,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    contract.full_clean()
    contract.save()
    contract.boroughs.set(boroughs)
    _set_providers(contract, providers)
    return contract


CONTRACT_FIELDS = (
    "reference",
    "title",
    "service_description",
    "commissioner_organisation",
    "commissioner_partnership",
    "form",
    "annual_value_pence",
    "start_date",
    "end_date",
    "agreed",
    "publishable",
)


@records_actor
@transaction.atomic
def contract_update(
    *,
    actor: User | None,
    contract: Contract,
    expected_version: int,
    providers: Sequence[ProviderSpec] | None = None,
    boroughs: Sequence[Area] | None = None,
    **values: Any,
) -> Contract:
    """Change a contract if it is still at `expected_version` (else StaleEdit; nothing written).

    Assumes permissions.can_manage_contract. `values` are model fields from CONTRACT_FIELDS;
    providers and boroughs, when given, replace the current ones. The provider rules are
    checked against the form the contract will have.
    """
    unknown = set(values) - set(CONTRACT_FIELDS)
    if unknown:
        raise ValueError(f"not contract fields: {sorted(unknown)}")
    draft = Contract.objects.get(pk=contract.pk)
    for name, value in values.items():
        setattr(draft, name, value)
    if isinstance(values.get("reference"), str):
        draft.reference = values["reference"].strip()
    _check_commissioner(draft.commissioner_organisation, draft.commissioner_partnership)
    if providers is None:
        providers = [(p.organisation, p.role) for p in draft.providers.select_related("organisation")]
    validate_providers(draft.form, providers, draft.commissioner_organisation)
    if boroughs is not None:
        _check_boroughs(boroughs)
    draft.full_clean(exclude=["version"])
    update_versioned(
        contract, expected_version=expected_version, values={name: getattr(draft, name) for name in CONTRACT_FIELDS}
    )
    _set_providers(contract, providers)
    if boroughs is not None:
        contract.boroughs.set(boroughs)
    return contract


# Measures --------------------------------------------------------------------------------


def _check_share_total(contract: Contract, share_bp: int, exclude_pk: int | None = None) -> None:
    """Lock the contract row, then check that its shares stay within 100%.

    The lock serialises concurrent measure writes on one contract, so two writers cannot
    each see room for their share and together pass 100%.
    """
    Contract.objects.select_for_update().filter(pk=contract.pk).values_list("pk", flat=True).get()
    others = contract.measures.exclude(pk=exclude_pk).aggregate(total=Sum("share_bp"))["total"] or 0
    if others + share_bp > FULL_SHARE_BP:
        room = FULL_SHARE_BP - others
        raise ValidationError(
            {
                "share_bp": (
                    f"The contract's other measures already link {Decimal(others) / 100}% of its value; "
                    f"this share can be at most {Decimal(room) / 100}% so the total stays within 100%."
                )
            }
        )


@records_actor
@transaction.atomic
def measure_create(
    *,
    actor: User | None,
    contract: Contract,
    indicator: Indicator,
    target: Decimal,
    share_bp: int,
    baseline: Decimal | None = None,
) -> ContractMeasure:
    """Link an outcome measure to a contract. Assumes permissions.can_manage_contract."""
    if contract.measures.filter(indicator=indicator).exists():
        raise ValidationError({"indicator": f"The contract already has a measure for {indicator.name}."})
    _check_share_total(contract, share_bp)
    measure = ContractMeasure(
        contract=contract, indicator=indicator, baseline=baseline, target=target, share_bp=share_bp
    )
    measure.full_clean()
    measure.save()
    return measure


MEASURE_FIELDS = ("indicator", "baseline", "target", "share_bp")


@records_actor
@transaction.atomic
def measure_update(
    *, actor: User | None, measure: ContractMeasure, expected_version: int, **values: Any
) -> ContractMeasure:
    """Change a measure if still at `expected_version` (else StaleEdit). Assumes can_manage_contract."""
    unknown = set(values) - set(MEASURE_FIELDS)
    if unknown:
        raise ValueError(f"not measure fields: {sorted(unknown)}")
    draft = ContractMeasure.objects.select_related("contract").filter(pk=measure.pk).first()
    if draft is None:
        raise Gone("The measure no longer exists: someone removed it.")
    for name, value in values.items():
        setattr(draft, name, value)
    if (
        "indicator" in values
        and ContractMeasure.objects.filter(contract_id=draft.contract_id, indicator=draft.indicator)
        .exclude(pk=draft.pk)
        .exists()
    ):
        raise ValidationError({"indicator": f"The contract already has a measure for {draft.indicator.name}."})
    _check_share_total(draft.contract, draft.share_bp, exclude_pk=draft.pk)
    draft.full_clean(exclude=["version"])
    return update_versioned(
        measure, expected_version=expected_version, values={name: getattr(draft, name) for name in MEASURE_FIELDS}
    )


@records_actor
@transaction.atomic
def measure_delete(*, actor: User | None, measure: ContractMeasure, expected_version: int) -> None:
    """Remove a measure if still at `expected_version` (else StaleEdit; 404 once gone).

    Assumes permissions.can_manage_contract. The version is checked by the statement that
    locks the row, so of concurrent deletes and edits from one version exactly one wins.
    The contract row is locked first, as every measure write does (``_check_share_total``):
    the same lock order, so a delete and an edit queue rather than deadlock.
    """
    Contract.objects.select_for_update().filter(pk=measure.contract_id).values_list("pk", flat=True).first()
    delete_versioned(measure, expected_version=expected_version)
