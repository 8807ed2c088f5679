"""The commissioning API: permissions, ETag / If-Match on contracts and measures, problem details."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from commissioning import services
from commissioning.models import Contract, ContractMeasure, PartnershipScope
from tests.api.helpers import assert_problem, field_errors
from tests.commissioning.conftest import add_metric, borough

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def measure(contract, recovery):
    return services.measure_create(actor=None, contract=contract, indicator=recovery, target=Decimal(30), share_bp=500)


def _patch(client, url, body, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.patch(url, json.dumps(body), content_type=JSON, **headers)


def test_a_contract_answers_with_its_etag_and_a_patch_needs_it(client_for, contract, commissioner):
    client = client_for(commissioner)
    url = f"/api/v1/contracts/{contract.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    assert response["ETag"] == '"v1"'
    assert response.json()["annual_value_pence"] == 120_000_000
    assert_problem(_patch(client, url, {"title": "No tag"}), 428)
    assert_problem(_patch(client, url, {"title": "Bad tag"}, "*"), 412)
    response = _patch(client, url, {"title": "Tagged"}, '"v1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"'
    body = assert_problem(_patch(client, url, {"title": "Stale"}, '"v1"'), 412)
    assert '"v2"' in body["detail"]
    assert Contract.objects.get(pk=contract.pk).title == "Tagged"


def test_contract_writes_follow_the_permissions(client_for, contract, published, provider, outsider):
    url = f"/api/v1/contracts/{contract.pk}/"
    assert_problem(_patch(client_for(provider), url, {"title": "x"}, '"v1"'), 403)
    assert_problem(_patch(client_for(outsider), url, {"title": "x"}, '"v1"'), 403)  # published: visible, not theirs
    assert_problem(_patch(client_for(None), url, {"title": "x"}, '"v1"'), 401)


def test_a_private_contract_is_404_to_strangers(client_for, contract, outsider):
    assert_problem(client_for(outsider).get(f"/api/v1/contracts/{contract.pk}/"), 404)
    assert_problem(client_for(None).get(f"/api/v1/contracts/{contract.pk}/"), 404)
    assert_problem(_patch(client_for(outsider), f"/api/v1/contracts/{contract.pk}/", {"title": "x"}, '"v1"'), 404)
    assert client_for(outsider).get("/api/v1/contracts/").json()["count"] == 0


def test_a_published_contract_is_a_summary_to_strangers(client_for, published, provider):
    body = client_for(None).get(f"/api/v1/contracts/{published.pk}/").json()
    assert body["access"] == "public"
    assert body["annual_value_pence"] is None and body["service_description"] is None
    assert body["value_band"] == "£1m–£5m"  # noqa: RUF001 - the band's en dash
    assert client_for(provider).get(f"/api/v1/contracts/{published.pk}/").json()["access"] == "read"


def test_a_commissioner_creates_a_contract_and_bad_roles_are_a_400(
    client_for, commissioner, commissioning_org, provider_org, provider, other_org
):
    body = {
        "reference": "API-1",
        "title": "By API",
        "service_description": "A service",
        "commissioner_organisation": commissioning_org.slug,
        "form": "lead_provider",
        "providers": [{"organisation": provider_org.slug, "role": "lead"}],
        "boroughs": ["E09000007"],
        "annual_value_pence": 50_000_000,
        "start_date": "2026-04-01",
        "end_date": "2027-03-31",
    }
    problem = assert_problem(client_for(commissioner).post("/api/v1/contracts/", body, content_type=JSON), 400)
    assert "providers" in field_errors(problem)
    body["providers"].append({"organisation": other_org.slug, "role": "subcontractor"})
    response = client_for(commissioner).post("/api/v1/contracts/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    assert Contract.objects.get(reference="API-1").providers.count() == 2
    assert_problem(
        client_for(provider).post("/api/v1/contracts/", {**body, "reference": "API-2"}, content_type=JSON), 403
    )


def test_the_list_filters_by_status_and_borough(client_for, contract, commissioner):
    client = client_for(commissioner)
    assert client.get("/api/v1/contracts/", {"status": "active"}).json()["count"] == 1
    assert client.get("/api/v1/contracts/", {"status": "ended"}).json()["count"] == 0
    assert client.get("/api/v1/contracts/", {"borough": "E09000022"}).json()["count"] == 0


def test_measures_carry_etags_and_shares_are_capped(client_for, contract, measure, detentions, commissioner, provider):
    client = client_for(commissioner)
    url = f"/api/v1/contract-measures/{measure.pk}/"
    assert client.get(url)["ETag"] == '"v1"'
    assert_problem(_patch(client, url, {"target": "31"}), 428)
    assert _patch(client, url, {"target": "31"}, '"v1"').status_code == 200
    assert_problem(_patch(client, url, {"target": "32"}, '"v1"'), 412)
    problem = assert_problem(
        client.post(
            "/api/v1/contract-measures/",
            {"contract": contract.pk, "indicator": detentions.code, "target": "10", "share_bp": 9501},
            content_type=JSON,
        ),
        400,
    )
    assert "share_bp" in field_errors(problem)
    assert client_for(provider).get(url).status_code == 200
    assert_problem(_patch(client_for(provider), url, {"target": "1"}, '"v2"'), 403)
    assert_problem(client_for(provider).delete(url, HTTP_IF_MATCH='"v2"'), 403)
    assert_problem(client.delete(url), 428)
    assert client.delete(url, HTTP_IF_MATCH='"v2"').status_code == 204
    assert not ContractMeasure.objects.filter(pk=measure.pk).exists()


def test_measures_of_a_published_contract_stay_private(client_for, published, measure, outsider):
    assert_problem(client_for(outsider).get(f"/api/v1/contract-measures/{measure.pk}/"), 404)
    assert client_for(outsider).get("/api/v1/contract-measures/").json()["count"] == 0


def test_performance_for_managers_and_providers(
    client_for, contract, measure, recovery, commissioner, provider, outsider
):
    add_metric(recovery, borough("CMD"), measure.created_at.date().replace(day=1), 30, 100)
    add_metric(recovery, borough("ISL"), measure.created_at.date().replace(day=1), 10, 100)
    url = f"/api/v1/contracts/{contract.pk}/performance/"
    body = client_for(provider).get(url).json()
    [row] = body["measures"]
    assert row["latest"]["value"] == pytest.approx(20.0)
    assert row["judgement"] == "not_met"
    assert body["at_risk_pence"] == 6_000_000
    assert client_for(commissioner).get(url).status_code == 200
    assert_problem(client_for(outsider).get(url), 404)
    Contract.objects.filter(pk=contract.pk).update(publishable=True)
    assert_problem(client_for(outsider).get(url), 403)


def test_partnerships_meetings_and_decisions(client_for, commissioner, commissioning_org, provider, outsider):
    body = {"name": "API partnership", "scope": PartnershipScope.PAN_LONDON, "lead": commissioning_org.slug}
    assert_problem(client_for(provider).post("/api/v1/partnerships/", body, content_type=JSON), 403)
    response = client_for(commissioner).post("/api/v1/partnerships/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    slug = response.json()["slug"]
    assert client_for(None).get(f"/api/v1/partnerships/{slug}/").json()["members"] == [
        {"organisation": commissioning_org.slug, "role": "lead"}
    ]
    assert_problem(client_for(outsider).patch(f"/api/v1/partnerships/{slug}/", {"name": "x"}, content_type=JSON), 403)
    meeting = {"partnership": slug, "date": "2026-05-01", "title": "Board"}
    assert_problem(client_for(outsider).post("/api/v1/partnership-meetings/", meeting, content_type=JSON), 403)
    response = client_for(commissioner).post("/api/v1/partnership-meetings/", meeting, content_type=JSON)
    assert response.status_code == 201
    decision = {"meeting": response.json()["id"], "partnership": slug, "title": "Publish", "text": "Publish it."}
    assert_problem(client_for(outsider).post("/api/v1/partnership-decisions/", decision, content_type=JSON), 403)
    assert (
        client_for(commissioner).post("/api/v1/partnership-decisions/", decision, content_type=JSON).status_code == 201
    )
    listed = client_for(None).get("/api/v1/partnership-decisions/", {"partnership": slug}).json()
    assert [d["title"] for d in listed["results"]] == ["Publish"]


def test_unknown_partnerships_meetings_and_measures_are_404(client_for, commissioner):
    client = client_for(commissioner)
    assert_problem(client.get("/api/v1/partnerships/nope/"), 404)
    assert_problem(client.get("/api/v1/partnership-meetings/999999/"), 404)
    assert_problem(client.get("/api/v1/partnership-decisions/999999/"), 404)
    assert_problem(client.get("/api/v1/contract-measures/999999/"), 404)
    assert_problem(client.get("/api/v1/contracts/999999/performance/"), 404)


def test_a_measure_for_a_contract_you_cannot_read_looks_like_no_contract_at_all(
    client_for, contract, recovery, outsider
):
    body = {"contract": contract.pk, "indicator": recovery.code, "target": "1", "share_bp": 1}
    private = assert_problem(client_for(outsider).post("/api/v1/contract-measures/", body, content_type=JSON), 400)
    missing = assert_problem(
        client_for(outsider).post("/api/v1/contract-measures/", {**body, "contract": 999999}, content_type=JSON), 400
    )
    assert private["errors"][0]["code"] == missing["errors"][0]["code"] == "does_not_exist"


def test_a_provider_cannot_add_measures(client_for, contract, recovery, provider):
    body = {"contract": contract.pk, "indicator": recovery.code, "target": "1", "share_bp": 1}
    assert_problem(client_for(provider).post("/api/v1/contract-measures/", body, content_type=JSON), 403)


def test_odd_ids_and_huge_values_are_client_errors(client_for, contract, commissioner):
    client = client_for(commissioner)
    assert_problem(client.get("/api/v1/contracts/abc/performance/"), 404)
    assert_problem(_patch(client, f"/api/v1/contracts/{contract.pk}/", {"annual_value_pence": 2**70}, '"v1"'), 400)


def test_a_write_to_a_measure_the_person_may_not_read_is_404_as_its_get(client_for, published, measure, outsider):
    # The outsider sees the published contract's summary, which shows no measures.
    client = client_for(outsider)
    url = f"/api/v1/contract-measures/{measure.pk}/"
    assert client.get(f"/api/v1/contracts/{published.pk}/").status_code == 200
    assert_problem(client.get(url), 404)
    assert_problem(_patch(client, url, {"target": "1"}, '"v1"'), 404)
    assert_problem(client.delete(url, HTTP_IF_MATCH='"v1"'), 404)
