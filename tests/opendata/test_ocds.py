"""The contract register in OCDS 1.1: valid against the standard's schema, and no more than the public sees.

The official release-package and release schemas (1.1.5) are in ocds_schema/ (see its README:
no package on PyPI ships them); validation is jsonschema's Draft 4 with format checks, the
package schema's reference to the release schema resolved locally, never fetched.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from commissioning import services
from commissioning.models import ContractForm, ProviderRole
from tests.commissioning.conftest import (  # noqa: F401  (fixtures)
    borough,
    contract,
    published,
    recovery,
    subcontractor_org,
)
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).parent / "ocds_schema"
URL = "/open-data/contracts.json"


def _validator() -> Draft4Validator:
    package = json.loads((SCHEMAS / "release-package-schema.json").read_text())
    release = json.loads((SCHEMAS / "release-schema.json").read_text())
    registry = Registry().with_resource(release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def assert_valid_ocds(document: dict) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.fixture
def alliance(commissioner, commissioning_org, provider_org, subcontractor_org):  # noqa: F811
    today = timezone.localdate()
    return services.contract_create(
        actor=commissioner,
        reference="NCL-ALLIANCE-01",
        title="Crisis alliance (test)",
        service_description="Crisis services delivered by an alliance.",
        commissioner_organisation=commissioning_org,
        form=ContractForm.ALLIANCE,
        providers=[(provider_org, ProviderRole.ALLIANCE_PARTNER), (subcontractor_org, ProviderRole.ALLIANCE_PARTNER)],
        boroughs=[borough("CMD")],
        annual_value_pence=250_000_000,
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=2 * 365),
        agreed=True,
        publishable=True,
    )


@pytest.fixture
def lead_provider(commissioner, commissioning_org, provider_org, subcontractor_org):  # noqa: F811
    """An ended lead-provider contract with a subcontractor, publishable."""
    today = timezone.localdate()
    return services.contract_create(
        actor=commissioner,
        reference="NCL-LEAD-01",
        title="Talking therapies (test)",
        service_description="Talking therapies.",
        commissioner_organisation=commissioning_org,
        form=ContractForm.LEAD_PROVIDER,
        providers=[(provider_org, ProviderRole.LEAD), (subcontractor_org, ProviderRole.SUBCONTRACTOR)],
        boroughs=[borough("ISL")],
        annual_value_pence=40_000_000,
        start_date=today - dt.timedelta(days=800),
        end_date=today - dt.timedelta(days=30),
        agreed=True,
        publishable=True,
    )


def test_the_public_register_in_ocds_validates_against_the_release_package_schema(
    client,
    published,  # noqa: F811
    alliance,
    lead_provider,
):
    response = client.get(URL)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = response.json()
    assert_valid_ocds(document)
    assert document["version"] == "1.1"
    assert document["license"].startswith("https://www.nationalarchives.gov.uk/doc/open-government-licence/")
    assert [r["contracts"][0]["id"] for r in document["releases"]] == ["NCL-ALLIANCE-01", "NCL-LEAD-01", "NCL-TEST-01"]


def test_a_private_contract_is_not_in_the_register(client, contract, alliance):  # noqa: F811
    document = client.get(URL).json()
    assert [r["contracts"][0]["id"] for r in document["releases"]] == ["NCL-ALLIANCE-01"]


def test_parties_carry_their_roles_buyer_suppliers_alliance_partners_and_subcontractors(
    client,
    alliance,
    lead_provider,
    commissioning_org,
    provider_org,
    subcontractor_org,  # noqa: F811
):
    releases = {r["contracts"][0]["id"]: r for r in client.get(URL).json()["releases"]}
    partners = {p["name"]: p for p in releases["NCL-ALLIANCE-01"]["parties"]}
    assert partners[commissioning_org.name]["roles"] == ["buyer", "procuringEntity", "payer"]
    assert partners[provider_org.name]["roles"] == ["supplier"]
    assert partners[provider_org.name]["details"]["providerRole"] == "alliance_partner"
    assert partners[subcontractor_org.name]["details"]["providerRole"] == "alliance_partner"
    assert {s["name"] for s in releases["NCL-ALLIANCE-01"]["awards"][0]["suppliers"]} == {
        provider_org.name,
        subcontractor_org.name,
    }
    lead = {p["name"]: p for p in releases["NCL-LEAD-01"]["parties"]}
    assert lead[subcontractor_org.name]["roles"] == ["interestedParty"]
    assert lead[subcontractor_org.name]["details"]["providerRole"] == "subcontractor"
    assert releases["NCL-LEAD-01"]["buyer"]["name"] == commissioning_org.name


def test_tags_and_statuses_follow_the_contract_status(client, alliance, lead_provider):
    releases = {r["contracts"][0]["id"]: r for r in client.get(URL).json()["releases"]}
    assert releases["NCL-ALLIANCE-01"]["tag"] == ["contract"]
    assert releases["NCL-ALLIANCE-01"]["contracts"][0]["status"] == "active"
    assert releases["NCL-LEAD-01"]["tag"] == ["contractTermination"]
    assert releases["NCL-LEAD-01"]["contracts"][0]["status"] == "terminated"


def test_the_public_release_holds_only_what_the_public_register_shows(client, alliance, recovery):  # noqa: F811
    services.measure_create(actor=None, contract=alliance, indicator=recovery, target=Decimal(60), share_bp=500)
    release = client.get(URL).json()["releases"][0]
    text = json.dumps(release)
    ocds_contract = release["contracts"][0]
    assert "value" not in ocds_contract and "period" not in ocds_contract and "milestones" not in ocds_contract
    assert "2,500,000" not in text and "2500000" not in text and "Crisis services delivered" not in text
    assert "£1m–£5m" in ocds_contract["description"]  # noqa: RUF001 - the band as the register writes it
    assert "Camden" in ocds_contract["description"]


def test_a_contracts_own_release_is_full_for_its_commissioner_with_value_period_and_shares(
    client_for,
    commissioner,
    alliance,
    recovery,  # noqa: F811
):
    services.measure_create(
        actor=commissioner,
        contract=alliance,
        indicator=recovery,
        target=Decimal(60),
        baseline=Decimal(50),
        share_bp=500,
    )
    response = client_for(commissioner).get(f"/open-data/contracts/{alliance.pk}.json")
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    document = response.json()
    assert_valid_ocds(document)
    ocds_contract = document["releases"][0]["contracts"][0]
    days = (alliance.end_date - alliance.start_date).days + 1
    assert ocds_contract["value"] == {"amount": round(2_500_000 * days / 365.25, 2), "currency": "GBP"}
    assert ocds_contract["period"]["startDate"] == f"{alliance.start_date.isoformat()}T00:00:00Z"
    [milestone] = ocds_contract["milestones"]
    assert milestone["code"] == recovery.code and milestone["type"] == "assessment"
    assert "5% of the annual value (£125,000 a year)" in milestone["description"]


def test_a_contracts_own_release_is_the_summary_for_the_public_and_404_when_private(
    client,
    client_for,
    outsider,
    alliance,
    contract,  # noqa: F811
):
    summary = client.get(f"/open-data/contracts/{alliance.pk}.json")
    assert summary.status_code == 200 and "public" in summary["Cache-Control"]
    assert_valid_ocds(summary.json())
    assert "value" not in summary.json()["releases"][0]["contracts"][0]
    assert client.get(f"/open-data/contracts/{contract.pk}.json").status_code == 404
    assert client_for(outsider).get(f"/open-data/contracts/{contract.pk}.json").status_code == 404
    assert client.post(f"/open-data/contracts/{alliance.pk}.json").status_code == 405


def test_a_partnership_commissioner_is_the_buyer(client, commissioner, commissioning_org, provider_org):
    from commissioning.models import Partnership, PartnershipMember

    partnership = Partnership.objects.create(name="NCL partnership (test)", slug="ncl-test", scope="boroughs")
    PartnershipMember.objects.create(partnership=partnership, organisation=commissioning_org, role="lead")
    other = OrganisationFactory(name="Second provider (test)")
    today = timezone.localdate()
    services.contract_create(
        actor=None,
        reference="NCL-PART-01",
        title="Partnership contract (test)",
        service_description="x",
        commissioner_partnership=partnership,
        form=ContractForm.SINGLE,
        providers=[(other, ProviderRole.LEAD)],
        boroughs=[borough("CMD")],
        annual_value_pence=1_000,
        start_date=today,
        end_date=today + dt.timedelta(days=10),
        agreed=False,
        publishable=True,
    )
    document = client.get(URL).json()
    assert_valid_ocds(document)
    release = document["releases"][0]
    assert release["buyer"] == {"id": "partnership-ncl-test", "name": "NCL partnership (test)"}
    assert release["tag"] == ["planning"] and release["contracts"][0]["status"] == "pending"


def test_the_register_answers_304_to_its_etag(client, alliance):
    first = client.get(URL)
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert first["Access-Control-Allow-Origin"] == "*"


def test_the_register_reads_a_fixed_number_of_queries(client, django_assert_num_queries, alliance, lead_provider):
    # contracts (with status), their providers with organisations, their boroughs: 3 at any size.
    with django_assert_num_queries(3):
        client.get(URL)
    for n in range(3):
        services.contract_create(
            actor=None,
            reference=f"EXTRA-{n}",
            title=f"Extra {n}",
            service_description="x",
            commissioner_organisation=alliance.commissioner_organisation,
            form=ContractForm.SINGLE,
            providers=[(OrganisationFactory(), ProviderRole.LEAD)],
            boroughs=[borough("HCK")],
            annual_value_pence=5_000,
            start_date=alliance.start_date,
            end_date=alliance.end_date,
            agreed=True,
            publishable=True,
        )
    with django_assert_num_queries(3):
        assert len(client.get(URL).json()["releases"]) == 5
