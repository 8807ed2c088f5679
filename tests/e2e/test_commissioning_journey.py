"""A commissioner's journey through commissioning in a real browser, with axe on every page:
the register, filters, a contract, an edit that meets a stale save, performance, history, the overview."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from commissioning import services
from commissioning.models import Contract, ContractForm, ProviderRole
from outcomes.models import Measure, PeriodType, Polarity
from tests.commissioning.conftest import add_metric, borough
from tests.e2e.conftest import assert_accessible, settled_header

# The live server is another thread, so tests commit (transaction=True); serialized_rollback
# puts back the boroughs the migrations loaded, which the flush after each test removes.
from tests.factories import IndicatorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def contracts(commissioning_org, provider_org, other_org):
    today = timezone.localdate()
    common = {
        "actor": None,
        "service_description": "Community teams across the two boroughs.",
        "commissioner_organisation": commissioning_org,
        "form": ContractForm.SINGLE,
        "annual_value_pence": 120_000_000,
        "agreed": True,
    }
    active = services.contract_create(
        **common,
        reference="NCL-E2E-01",
        title="Community mental health (e2e)",
        providers=[(provider_org, ProviderRole.LEAD)],
        boroughs=[borough("CMD"), borough("ISL")],
        start_date=today - dt.timedelta(days=365),
        end_date=today + dt.timedelta(days=3 * 365),
    )
    services.contract_create(
        **common,
        reference="NCL-E2E-02",
        title="Crisis cafe (e2e, ended)",
        providers=[(other_org, ProviderRole.LEAD)],
        boroughs=[borough("ISL")],
        start_date=today - dt.timedelta(days=800),
        end_date=today - dt.timedelta(days=30),
    )
    recovery = IndicatorFactory(
        code="e2e-recovery",
        name="Recovery rate (e2e)",
        definition="x",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
        unit="%",
    )
    for area, numerator in (("CMD", 90), ("ISL", 10)):
        add_metric(recovery, borough(area), dt.date(2026, 1, 1), numerator, 100 if area == "CMD" else 300)
    services.measure_create(actor=None, contract=active, indicator=recovery, target=Decimal(30), share_bp=500)
    return active


def test_a_commissioner_edits_a_contract_meets_a_conflict_and_reads_its_performance(
    page: Page, contracts, commissioner, password
):
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(commissioner.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # A commissioner lands on their work (issue 19).
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")

    settled_header(page).get_by_role("link", name="Commissioning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contract register")
    expect(page.get_by_role("table")).to_contain_text("Crisis cafe (e2e, ended)")
    assert_accessible(page)

    page.get_by_label("Status").select_option(label="Active")
    page.get_by_label("Borough").select_option(label="Camden")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=active"))
    table = page.get_by_role("table", name=re.compile("contract"))
    expect(table.get_by_role("caption")).to_have_text("1 contract")
    expect(table).not_to_contain_text("Crisis cafe")
    expect(page.locator("#register-totals")).to_contain_text("£1,200,000")
    assert_accessible(page)

    table.get_by_role("link", name="Community mental health (e2e)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Community mental health (e2e)")
    expect(page.locator("#contract-measures")).to_contain_text("Recovery rate (e2e)")
    assert_accessible(page)

    page.get_by_role("link", name="Edit this contract").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit NCL-E2E-01")
    assert_accessible(page)
    # Someone else saves while this form is open.
    services.contract_update(
        actor=None, contract=Contract.objects.get(pk=contracts.pk), expected_version=1, title="Their title"
    )
    page.get_by_label("Title").fill("My title")
    page.get_by_role("button", name="Save contract").click()
    expect(page.get_by_role("heading", name="Someone else changed this while you were editing")).to_be_visible()
    conflict = page.locator("#conflict-table")
    expect(conflict).to_contain_text("My title")
    expect(conflict).to_contain_text("Their title")
    assert_accessible(page)
    assert Contract.objects.get(pk=contracts.pk).title == "Their title"

    page.get_by_role("button", name="Save my version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My title")
    assert_accessible(page)

    page.get_by_role("link", name="Performance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My title")
    # 100 of 400 across the two boroughs: 25%, short of the 30% target.
    # The measure's section, not its trend table's scroll region ("Trend: Recovery rate ...").
    section = page.get_by_role("region", name=re.compile("^Recovery rate"))
    expect(section).to_contain_text("25.0 % in 2026-01")
    expect(section).to_contain_text("Target missed")
    expect(page.locator("#performance-totals")).to_contain_text("£60,000")
    assert_accessible(page)

    page.get_by_role("link", name="History").click()
    expect(page.locator("main")).to_contain_text("My title")
    assert_accessible(page)

    page.goto("/commissioning/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Commissioning overview")
    expect(page.locator("#spend-by-borough")).to_contain_text("Camden")
    assert_accessible(page)

    page.goto("/commissioning/partnerships/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Commissioning partnerships")
    assert_accessible(page)
