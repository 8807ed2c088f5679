"""The contract register in the Open Contracting Data Standard (OCDS 1.1): one release per contract.

The public release package (`/open-data/contracts.json`) holds exactly what the public register
shows of each publishable contract (`selectors.contract_register` for an anonymous visitor):
its reference and title, the commissioner (buyer), the providers with their roles, the boroughs,
the form, the status and the value band. Its value, period, service description and outcome
measures are not public, so they are not in it.

A contract's own release (`/open-data/contracts/<id>.json`) is the public one too, except for
people who may read the contract in full (its commissioners and providers,
`permissions.contract_access`), who get the value, the period and the outcome-linked shares.

Mapping (OCDS 1.1 core, no extension):

- `ocid`: OCDS_OCID_PREFIX + the contract's id; the release `id` changes whenever the contract
  is saved; `tag` from the status: planning (draft), contract (active, expiring),
  contractTermination (ended).
- `parties`: the commissioning organisation (roles buyer, procuringEntity, payer) or the
  commissioning partnership (buyer) with its member organisations (payer); the lead provider
  and alliance partners (supplier), subcontractors (interestedParty, as OCDS has no subcontractor
  role). `details.providerRole` and `details.organisationType` keep the portal's own words.
- `awards[0]`: the award to the suppliers; `contracts[0]`: the contract, its OCDS `status`
  (pending, active, terminated), the boroughs and value band in its description; in full, its
  `value` (the annual value times its length in years), `period` and one `milestones` entry per
  outcome measure (type assessment, the measure's indicator as `code`, target and share of the
  annual value in its description).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse

from commissioning.models import Contract, ContractMeasure, ContractStatus, ProviderRole
from kernel import numbers

OCDS_VERSION = "1.1"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
PUBLISHER = {"name": "London mental health portal"}

TAGS = {
    ContractStatus.DRAFT: ["planning"],
    ContractStatus.ACTIVE: ["contract"],
    ContractStatus.EXPIRING: ["contract"],
    ContractStatus.ENDED: ["contractTermination"],
}
CONTRACT_STATUS = {
    ContractStatus.DRAFT: "pending",
    ContractStatus.ACTIVE: "active",
    ContractStatus.EXPIRING: "active",
    ContractStatus.ENDED: "terminated",
}
PROVIDER_ROLES = {
    ProviderRole.LEAD: ["supplier"],
    ProviderRole.ALLIANCE_PARTNER: ["supplier"],
    ProviderRole.SUBCONTRACTOR: ["interestedParty"],
}


def _site() -> str:
    return settings.SITE_URL.rstrip("/")


def ocid(contract: Contract) -> str:
    return f"{settings.OCDS_OCID_PREFIX}-{contract.pk}"


def _datetime(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{value.isoformat()}T00:00:00Z"


def _pounds(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def total_value_pence(contract: Contract) -> int:
    """The annual value over the contract's length (days, inclusive, of 365.25 a year), to the penny."""
    days = (contract.end_date - contract.start_date).days + 1
    total = Decimal(contract.annual_value_pence) * days / Decimal("365.25")
    return int(total.to_integral_value(rounding=ROUND_HALF_UP))


def _party_for_organisation(organisation: Any, roles: list[str], **details: Any) -> dict[str, Any]:
    return {
        "id": f"org-{organisation.slug}",
        "name": organisation.name,
        "identifier": {"scheme": None, "id": organisation.slug, "legalName": organisation.name},
        "roles": roles,
        "details": {"organisationType": organisation.type, **details},
    }


def parties(contract: Contract) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(the parties, the buyer as an organisation reference)."""
    found: dict[str, dict[str, Any]] = {}
    if contract.commissioner_organisation is not None:
        buyer = _party_for_organisation(contract.commissioner_organisation, ["buyer", "procuringEntity", "payer"])
        found[buyer["id"]] = buyer
    else:
        partnership = contract.commissioner_partnership
        buyer = {
            "id": f"partnership-{partnership.slug}",
            "name": partnership.name,
            "roles": ["buyer"],
            "details": {"organisationType": "commissioning_partnership", "scope": partnership.scope},
        }
        found[buyer["id"]] = buyer
    for provider in contract.providers.all():
        party = _party_for_organisation(
            provider.organisation, list(PROVIDER_ROLES[provider.role]), providerRole=provider.role
        )
        if party["id"] in found:  # a commissioner that also provides: one party, both roles
            found[party["id"]]["roles"] += party["roles"]
            found[party["id"]]["details"]["providerRole"] = provider.role
        else:
            found[party["id"]] = party
    return list(found.values()), {"id": buyer["id"], "name": buyer["name"]}


def _milestone(measure: ContractMeasure, contract: Contract) -> dict[str, Any]:
    indicator = measure.indicator
    baseline = "" if measure.baseline is None else f" from a baseline of {numbers.format_number(measure.baseline)}"
    linked = contract.annual_value_pence * measure.share_bp // 10_000
    return {
        "id": f"measure-{measure.pk}",
        "title": f"Outcome: {indicator.name}",
        "type": "assessment",
        "code": indicator.code,
        "description": (
            f"Target {numbers.format_number(measure.target)}{baseline} ({indicator.code}). "
            f"{numbers.format_number(Decimal(measure.share_bp) / 100)}% of the annual value "
            f"({numbers.format_pounds(linked)} a year) is linked to it."
        ),
        "dueDate": _datetime(contract.end_date),
        "status": "scheduled",
    }


def contract_release(
    contract: Contract, *, full: bool = False, measures: Iterable[ContractMeasure] = ()
) -> dict[str, Any]:
    """One OCDS release of a contract: its public summary, or (`full`) with value, period and measures.

    Needs `providers__organisation` and `boroughs` prefetched and the commissioner loaded.
    """
    status = contract.status
    party_list, buyer = parties(contract)
    suppliers = [
        {"id": p["id"], "name": p["name"]} for p in party_list if "supplier" in p["roles"] and p["id"] != buyer["id"]
    ]
    boroughs = ", ".join(b.name for b in contract.boroughs.all())
    description = (
        f"{contract.get_form_display()}. Boroughs covered: {boroughs or 'none'}. Annual value: {contract.value_band}."
    )
    award: dict[str, Any] = {
        "id": f"{contract.reference}-award",
        "title": contract.title,
        "status": "pending" if status == ContractStatus.DRAFT else "active",
        "suppliers": suppliers,
    }
    ocds_contract: dict[str, Any] = {
        "id": contract.reference,
        "awardID": award["id"],
        "title": contract.title,
        "description": description,
        "status": CONTRACT_STATUS[ContractStatus(status)],
    }
    if full:
        ocds_contract["description"] = f"{contract.service_description}\n\n{description}".strip()
        ocds_contract["value"] = {"amount": float(_pounds(total_value_pence(contract))), "currency": "GBP"}
        ocds_contract["period"] = {"startDate": _datetime(contract.start_date), "endDate": _datetime(contract.end_date)}
        ocds_contract["milestones"] = [_milestone(m, contract) for m in measures]
        award["value"] = dict(ocds_contract["value"])
        award["contractPeriod"] = dict(ocds_contract["period"])
    return {
        "ocid": ocid(contract),
        "id": f"{ocid(contract)}-{contract.updated_at.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}",
        "date": _datetime(contract.updated_at),
        "tag": TAGS[ContractStatus(status)],
        "initiationType": "tender",
        "language": "en",
        "parties": party_list,
        "buyer": buyer,
        "awards": [award],
        "contracts": [ocds_contract],
    }


def release_package(releases: list[dict[str, Any]], *, uri_path: str) -> dict[str, Any]:
    """An OCDS 1.1 release package of `releases`, published at `uri_path` of the portal."""
    package: dict[str, Any] = {"uri": _site() + uri_path, "version": OCDS_VERSION}
    if releases:  # the date of the last change of its contents (an empty package has none)
        package["publishedDate"] = max(r["date"] for r in releases)
    package.update(
        publisher=PUBLISHER,
        license=OGL,
        publicationPolicy=_site() + reverse("opendata_index"),
        releases=releases,
    )
    return package
