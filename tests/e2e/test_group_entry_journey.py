"""Population groups in a real browser, on a phone (issue 21): a catalogue manager ticks the
breakdowns and gives age bands (the error summary when they are missing), a provider enters a
value for one group in the web form; axe passes and nothing scrolls sideways at 320 pixels."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from outcomes.models import Indicator, Measure, OutcomeValue, PeriodType
from stakeholders.models import Role
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_data_entry_journey import _fits_phones
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _sign_in(page: Page, user, password: str) -> None:
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_declares_groups_and_a_provider_enters_a_groups_value(page: Page, staff, provider_org, password):
    page.set_viewport_size({"width": 320, "height": 800})
    _sign_in(page, staff, password)
    page.goto("/indicators/new/")
    page.get_by_label("Code").fill("test-detentions")
    page.get_by_label("Name").fill("Detentions (test)")
    page.get_by_label("Definition").fill("Detentions under the Mental Health Act.")
    page.get_by_label("Measure").select_option(Measure.COUNT)
    page.get_by_label("Reported by").select_option(PeriodType.MONTH)
    page.get_by_label("Ethnic group").check()
    page.get_by_label("Age band", exact=True).check()
    page.get_by_role("button", name="Create indicator").click()

    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter the age bands")
    _fits_phones(page)
    assert_accessible(page)
    page.get_by_label("Age bands").fill("0-17, 18-64, 65+")
    page.get_by_role("button", name="Create indicator").click()
    expect(page.get_by_role("heading", name="Population groups")).to_be_visible()
    _fits_phones(page)
    assert_accessible(page)
    assert Indicator.objects.get(code="test-detentions").age_bands == ["0-17", "18-64", "65+"]

    provider = MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER).user
    page.context.clear_cookies()
    _sign_in(page, provider, password)
    page.goto("/data/form/?indicator=test-detentions&period=2025-03")
    page.get_by_label("Values for").select_option("ethnicity:black")
    page.get_by_role("button", name="Show this group").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ethnic group: Black")
    _fits_phones(page)
    assert_accessible(page)
    page.get_by_label("Numerator for Camden").fill("12")
    page.get_by_role("button", name="Save values").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    value = OutcomeValue.objects.get()
    assert (value.breakdown, value.population_group, value.numerator) == ("ethnicity", "black", 12)
