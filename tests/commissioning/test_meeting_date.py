"""Dates on the commissioning forms are NHS.UK date inputs (the meeting date was free text)."""

from __future__ import annotations

import datetime as dt

import pytest

from commissioning import services
from commissioning.models import PartnershipScope

pytestmark = pytest.mark.django_db


@pytest.fixture
def partnership(commissioning_org):
    return services.partnership_create(
        actor=None, name="Test partnership", scope=PartnershipScope.PAN_LONDON, lead=commissioning_org
    )


def test_a_meeting_date_is_entered_as_day_month_and_year(client_for, partnership, commissioner):
    url = f"/commissioning/partnerships/{partnership.slug}/meetings/new/"
    client = client_for(commissioner)
    page = client.get(url).text
    assert 'name="date_day"' in page and 'name="date_month"' in page and 'name="date_year"' in page
    assert 'type="date"' not in page
    response = client.post(url, {"date_day": "14", "date_month": "5", "date_year": "2026", "title": "Board"})
    assert response.status_code == 302
    assert partnership.meetings.get().date == dt.date(2026, 5, 14)


def test_a_meeting_on_31_february_is_refused_with_what_was_typed_kept(client_for, partnership, commissioner):
    url = f"/commissioning/partnerships/{partnership.slug}/meetings/new/"
    response = client_for(commissioner).post(
        url, {"date_day": "31", "date_month": "2", "date_year": "2026", "title": "Board"}
    )
    assert response.status_code == 200
    page = response.text
    assert "There is a problem" in page and 'href="#id_date_day"' in page
    assert "Date of the meeting must be a real date" in page
    assert 'value="31"' in page and 'value="Board"' in page
    assert not partnership.meetings.exists()


def test_a_contract_form_shows_its_dates_as_date_inputs(client_for, commissioner):
    page = client_for(commissioner).get("/commissioning/contracts/new/").text
    assert 'name="start_date_day"' in page and 'name="end_date_year"' in page
    assert 'type="date"' not in page
