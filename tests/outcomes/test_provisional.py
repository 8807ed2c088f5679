"""Approved figures are published; provisional ones are for signed-in partners (outcomes.permissions).

Every output that reads Metric: the overview (map and tables), its downloads, the indicator
page (trend and chart), the area profile and its downloads, and the metrics API, including
their caches. PUBLISH_PROVISIONAL_FIGURES opens them to everyone.
"""

from __future__ import annotations

import pytest

from outcomes import permissions
from tests.outcomes.test_dashboards import JUNE, make_metric, proportion

pytestmark = pytest.mark.django_db

PAGES = [
    ("/dashboards/", {}),
    ("/dashboards/indicators/recovery/", {"area": "E09000007"}),
    ("/dashboards/areas/E09000007/", {}),
]


@pytest.fixture
def figures():
    """London and Camden: approved 50.0% and 40.0%; provisional (with submitted values) 52.0% and 70.0%."""
    recovery = proportion()
    make_metric(recovery, "LDN", num=1000, den=2000)
    make_metric(recovery, "CMD", num=40, den=100)
    make_metric(recovery, "LDN", num=1040, den=2000, basis="provisional")
    make_metric(recovery, "CMD", num=70, den=100, basis="provisional")
    return recovery


def test_partners_are_staff_and_members_of_an_organisation_not_service_users_nor_the_public(
    client_for, provider, commissioner, staff, service_user
):
    from django.contrib.auth.models import AnonymousUser

    assert permissions.is_partner(provider) and permissions.is_partner(commissioner) and permissions.is_partner(staff)
    assert not permissions.is_partner(service_user) and not permissions.is_partner(AnonymousUser())
    assert permissions.figures_basis(provider, "provisional") == "provisional"
    assert permissions.figures_basis(provider, "") == "approved"
    assert permissions.figures_basis(service_user, "provisional") == "approved"
    assert permissions.figures_basis(AnonymousUser(), "provisional") == "approved"
    assert permissions.figures_basis(AnonymousUser(), "nonsense") == "approved"


@pytest.mark.parametrize("who", ["anonymous", "service_user"])
@pytest.mark.parametrize("page", PAGES)
def test_the_public_and_service_users_get_approved_figures_however_they_ask(client_for, request, figures, who, page):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client = client_for(user)
    page, query = page
    for params in ({}, {"basis": "provisional"}):
        html = client.get(page, {**query, **params}).content.decode()
        assert "Approved figures only." in html
        assert "70.0%" not in html and "52.0%" not in html
        assert 'name="basis"' not in html  # no switch to offer
    for fmt in ("csv", "json"):
        if page.startswith("/dashboards/indicators/"):
            continue
        body = client.get(page, {**query, "basis": "provisional", "format": fmt}).content.decode()
        assert "provisional" not in body.replace('"provisional": false', "").replace("also_provisional", "")
        assert "70.0" not in body


@pytest.mark.parametrize("page", PAGES)
def test_partners_switch_to_provisional_figures_marked_as_such(client_for, provider, figures, page):
    client = client_for(provider)
    page, query = page
    html = client.get(page, {**query, "basis": "provisional"}).content.decode()
    assert "Provisional" in html and "70.0%" in html
    assert 'name="basis"' in html
    assert "Approved figures only." in client.get(page, query).content.decode()


def test_a_partners_provisional_page_is_never_served_from_the_cache_to_the_public(client_for, provider, figures):
    assert "70.0%" in client_for(provider).get("/dashboards/", {"basis": "provisional"}).content.decode()
    assert "70.0%" not in client_for(None).get("/dashboards/", {"basis": "provisional"}).content.decode()


def test_the_anonymous_api_refuses_provisional_figures_and_partners_get_them(client_for, provider, figures):
    url = "/api/v1/metrics/"
    assert client_for(provider).get(url, {"basis": "provisional"}).status_code == 200
    response = client_for(None).get(url, {"basis": "provisional"})
    assert response.status_code == 403
    assert "signed-in partners" in response.json()["detail"]
    rows = client_for(None).get(url).json()["results"]
    assert {r["basis"] for r in rows} == {"approved"} and {r["value"] for r in rows} == {50.0, 40.0}
    partner_rows = client_for(provider).get(url, {"basis": "provisional"}).json()["results"]
    assert {r["value"] for r in partner_rows} == {52.0, 70.0} and all(r["provisional"] for r in partner_rows)


def test_a_deployment_may_publish_provisional_figures_to_everyone(client_for, figures, settings):
    settings.PUBLISH_PROVISIONAL_FIGURES = True
    html = client_for(None).get("/dashboards/", {"basis": "provisional"}).content.decode()
    assert "Provisional" in html and "70.0%" in html
    rows = client_for(None).get("/api/v1/metrics/", {"basis": "provisional"}).json()["results"]
    assert {r["value"] for r in rows} == {52.0, 70.0}


def test_the_default_is_approved_for_partners_too(client_for, commissioner, figures):
    csv = client_for(commissioner).get("/dashboards/", {"format": "csv"}).content.decode()
    assert ",approved," in csv and ",provisional," not in csv
    assert JUNE  # the cell's period
