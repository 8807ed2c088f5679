"""Reporting-schedule pages and API: who may see and do what (allowed, 403, 404), forms, CSV, ETags."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from actionplan.models import EmailMode
from actionplan.voice import services as voice_services
from commissioning.schedules.models import ReportingSchedule
from outcomes.models import Measure, PeriodType
from tests.commissioning.schedules_helpers import at, borough, london, make_schedule, submit
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def monthly(db):
    return IndicatorFactory(
        code="vw-access", name="Access (test)", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )


@pytest.fixture
def schedule(commissioner, commissioning_org, provider_org, monthly):
    return make_schedule(commissioner, commissioning_org, provider_org, [monthly], [borough("CMD")])


def _form(monthly, **overrides):
    data = {
        "name": "Crisis return (test)",
        "commissioner": "",
        "provider": "",
        "period_type": "month",
        "indicators": [monthly.pk],
        "boroughs": [borough("CMD").pk],
        "first_period": "2026-01",
        "deadline_days": "20",
        "reminder_days": "5",
        "is_active": "on",
    }
    data.update(overrides)
    return data


# Pages -----------------------------------------------------------------------------------------


def test_a_commissioner_sets_a_schedule_and_the_provider_sees_it(
    client_for, commissioner, commissioning_org, provider, provider_org, monthly
):
    response = client_for(commissioner).post(
        "/commissioning/schedules/new/", _form(monthly, commissioner=commissioning_org.pk, provider=provider_org.pk)
    )
    schedule = ReportingSchedule.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/commissioning/schedules/{schedule.pk}/"
    assert (schedule.first_period.isoformat(), schedule.created_by) == ("2026-01-01", commissioner)
    page = client_for(provider).get("/commissioning/schedules/")
    assert "Crisis return (test)" in page.content.decode()
    assert client_for(provider).get(f"/commissioning/schedules/{schedule.pk}/").status_code == 200


def test_bad_input_is_explained_by_field_and_the_typed_values_are_kept(
    client_for, commissioner, commissioning_org, provider_org, monthly
):
    response = client_for(commissioner).post(
        "/commissioning/schedules/new/",
        _form(monthly, commissioner=commissioning_org.pk, provider=provider_org.pk, first_period="2026-Q1",
              boroughs=[borough("ISL").pk], deadline_days="twenty"),
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200 and ReportingSchedule.objects.count() == 0
    assert "nhsuk-error-summary" in page
    assert "Write the first period as a month, like 2026-04." in page
    assert "Enter the deadline as a whole number of days, like 20." in page
    assert 'value="2026-Q1"' in page and 'value="twenty"' in page and 'value="Crisis return (test)"' in page
    # With the shape right, the rule across models speaks: the provider does not serve Islington.
    response = client_for(commissioner).post(
        "/commissioning/schedules/new/",
        _form(monthly, commissioner=commissioning_org.pk, provider=provider_org.pk, boroughs=[borough("ISL").pk]),
    )
    assert "Provider Trust (test) does not serve Islington." in response.content.decode()


def test_only_commissioners_may_set_a_schedule(client_for, provider, service_user, outsider):
    assert client_for(None).get("/commissioning/schedules/new/").status_code == 302
    for user in (provider, service_user, outsider):
        assert client_for(user).get("/commissioning/schedules/new/").status_code == 403


def test_a_commissioner_may_not_set_one_for_another_organisation(
    client_for, commissioner, provider_org, monthly, other_org
):
    from stakeholders.models import OrganisationType
    from tests.factories import OrganisationFactory

    other_icb = OrganisationFactory(type=OrganisationType.ICB_COMMISSIONER, boroughs=["CMD"])
    response = client_for(commissioner).post(
        "/commissioning/schedules/new/", _form(monthly, commissioner=other_icb.pk, provider=provider_org.pk)
    )
    assert response.status_code == 200 and ReportingSchedule.objects.count() == 0
    assert "Select a valid choice" in response.content.decode()


def test_strangers_get_404_the_provider_403_on_edit_and_the_manager_edits(
    client_for, schedule, commissioner, provider, outsider, service_user
):
    url = f"/commissioning/schedules/{schedule.pk}/"
    for user in (outsider, service_user):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).get(url + "edit/").status_code == 404
        assert client_for(user).get(url + "history/").status_code == 404
    assert client_for(provider).get(url + "edit/").status_code == 403
    assert client_for(commissioner).get(url + "history/").status_code == 200
    assert client_for(commissioner).get(url + "edit/").status_code == 200


def test_a_stale_edit_shows_the_conflict_page_and_saves_nothing(client_for, schedule, commissioner, monthly):
    from commissioning.schedules import services

    services.schedule_update(actor=commissioner, schedule=schedule, expected_version=1, deadline_days=25)
    response = client_for(commissioner).post(
        f"/commissioning/schedules/{schedule.pk}/edit/",
        _form(monthly, commissioner=schedule.commissioner_id, provider=schedule.provider_id, deadline_days="30",
              version="1"),
    )  # fmt: skip
    assert response.status_code == 409
    assert "Someone else changed this while you were editing" in response.content.decode()
    schedule.refresh_from_db()
    assert (schedule.version, schedule.deadline_days) == (2, 25)


def test_completeness_page_and_csv_for_commissioner_and_provider_403_for_others(
    client_for, schedule, commissioner, provider, provider_org, outsider, service_user
):
    with at(london(2026, 2, 10, 12)):
        submit(provider, provider_org, [("vw-access", "CMD", "2026-01", 5, None)])
    for user in (commissioner, provider):
        page = client_for(user).get("/commissioning/completeness/")
        assert page.status_code == 200 and "Provider Trust (test)" in page.content.decode()
    response = client_for(commissioner).get("/commissioning/completeness/download/", {"provider": provider_org.pk})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    january = next(r for r in rows if r["period"] == "2026-01")
    assert (january["indicator_code"], january["borough"], january["state"], january["deadline"]) == (
        "vw-access", "Camden", "on time", "2026-02-20",
    )  # fmt: skip
    assert {r["state"] for r in rows if r["period"] != "2026-01"} == {"missing"}
    for user in (outsider, service_user):
        assert client_for(user).get("/commissioning/completeness/").status_code == 403
        assert client_for(user).get("/commissioning/completeness/download/").status_code == 403
    assert client_for(None).get("/commissioning/completeness/").status_code == 302


def test_notification_settings_offer_a_choice_per_kind(client_for, provider):
    client = client_for(provider)
    page = client.get("/notifications/settings/").content.decode()
    assert "Data your organisation must submit is overdue" in page
    response = client.post("/notifications/settings/", {"email_mode": "immediate", "kind_report_late": "digest"})
    assert response.status_code == 302
    assert voice_services.email_mode_for(provider, "report_late") == EmailMode.DIGEST
    assert voice_services.email_mode_for(provider, "report_due") == EmailMode.IMMEDIATE
    assert (
        client.post("/notifications/settings/", {"email_mode": "immediate", "kind_report_late": "hourly"}).status_code
        == 200
    )
    assert voice_services.email_mode_for(provider, "report_late") == EmailMode.DIGEST


def test_one_click_unsubscribe_for_one_kind_needs_no_sign_in(provider):
    token = voice_services.unsubscribe_token(provider, "report_due")
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(f"/unsubscribe/{token}/").content.decode()
    assert "data your organisation must submit is due soon" in page
    assert anonymous.post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert voice_services.email_mode_for(provider, "report_due") == EmailMode.OFF
    assert voice_services.email_mode_for(provider, "reply") == EmailMode.IMMEDIATE


# API -------------------------------------------------------------------------------------------


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_api_creates_reads_and_patches_with_etags(
    commissioner, commissioning_org, provider, provider_org, monthly, outsider
):
    body = {
        "name": "API return (test)", "provider": provider_org.slug, "commissioner": commissioning_org.slug,
        "period_type": "month", "indicators": ["vw-access"], "boroughs": [borough("CMD").code],
        "first_period": "2026-01-01", "deadline_days": 15,
    }  # fmt: skip
    assert _api(provider).post("/api/v1/reporting-schedules/", body, format="json").status_code == 403
    created = _api(commissioner).post("/api/v1/reporting-schedules/", body, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/reporting-schedules/{created.json()['id']}/"
    read = _api(provider).get(url)
    assert read.status_code == 200 and read["ETag"] == '"v1"'
    assert read.json()["indicators"] == ["vw-access"]
    assert _api(outsider).get(url).status_code == 404
    assert _api(None).get(url).status_code in (401, 403)
    assert _api(provider).patch(url, {"deadline_days": 10}, format="json", HTTP_IF_MATCH='"v1"').status_code == 403
    client = _api(commissioner)
    assert client.patch(url, {"deadline_days": 10}, format="json").status_code == 428
    patched = client.patch(url, {"deadline_days": 10}, format="json", HTTP_IF_MATCH='"v1"')
    assert patched.status_code == 200 and patched["ETag"] == '"v2"' and patched.json()["deadline_days"] == 10
    assert client.patch(url, {"deadline_days": 12}, format="json", HTTP_IF_MATCH='"v1"').status_code == 412
    bad = client.patch(url, {"boroughs": [borough("ISL").code]}, format="json", HTTP_IF_MATCH='"v2"')
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"


def test_the_completeness_api_answers_totals_groups_and_cells(
    schedule, commissioner, provider, provider_org, outsider, service_user
):
    with at(london(2026, 2, 10, 12)):
        submit(provider, provider_org, [("vw-access", "CMD", "2026-01", 5, None)])
    by_period = _api(commissioner).get("/api/v1/completeness/", {"group_by": "period"}).json()
    january = next(r for r in by_period["results"] if r["key"] == "2026-01")
    assert (january["expected"], january["received"], january["on_time"], january["on_time_percent"]) == (
        1, 1, 1, 100.0,
    )  # fmt: skip
    cells = _api(provider).get("/api/v1/completeness/", {"group_by": "cell", "period_to": "2026-01-31"}).json()
    assert cells["count"] == 1
    assert cells["results"][0] | {"last_submitted_at": None} == {
        "provider": "Provider Trust (test)", "borough": borough("CMD").code, "indicator": "vw-access",
        "period": "2026-01", "deadline": "2026-02-20", "state": "on_time", "value_status": "submitted",
        "last_submitted_at": None,
    }  # fmt: skip
    assert _api(outsider).get("/api/v1/completeness/").status_code == 403
    assert _api(service_user).get("/api/v1/completeness/").status_code == 403
    assert _api(None).get("/api/v1/completeness/").status_code in (401, 403)
    assert _api(commissioner).get("/api/v1/completeness/", {"group_by": "nonsense"}).status_code == 400
