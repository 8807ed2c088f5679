"""A provider enters data on a phone: the web form keeps a rejected row as typed, a clean CSV
trial run is submitted with one button, and nothing scrolls sideways at 320 or 375 pixels."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from stakeholders.models import Area, AreaLevel
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.factories import IndicatorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HEADER = "indicator_code,borough_code,period,numerator,denominator,note"


def _fits_phones(page: Page) -> None:
    page.wait_for_load_state()
    for width in (320, 375):
        page.set_viewport_size({"width": width, "height": 800})
        # The header's script folds its links into "More" after a resize; measure once it has.
        with contextlib.suppress(PlaywrightTimeoutError):  # if it never does, the assertion says how wide
            page.wait_for_function(
                "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
            )
        assert_no_sideways_scrolling(page)
    page.set_viewport_size({"width": 320, "height": 800})


def test_a_provider_corrects_a_rejected_row_in_place_and_submits_a_trial_run_with_one_button(
    page: Page, provider, provider_org, password
):
    provider_org.boroughs.add(Area.objects.get(short_code="ISL", level=AreaLevel.BOROUGH))
    IndicatorFactory(
        code="test-recovery",
        name="Recovery rate (test)",
        definition="Share of people finishing treatment who recovered.",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )
    IndicatorFactory(
        code="test-physical",
        name="Physical health checks (test)",
        definition="People with SMI who had all six checks.",
        measure=Measure.COUNT,
        period_type=PeriodType.QUARTER,
        financial_quarters=True,
    )
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(provider.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    # Step 1: the indicator and the period.
    page.goto("/data/form/")
    page.get_by_label("Indicator").select_option("test-recovery")
    page.get_by_label("Period").fill("2025-03")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery rate (test), 2025-03")
    _fits_phones(page)
    assert_accessible(page)

    # Step 2: a good row and a bad one.
    page.get_by_label("Numerator for Camden").fill("45")
    page.get_by_label("Denominator for Camden").fill("60")
    page.get_by_label("Numerator for Islington").fill("70")
    page.get_by_label("Denominator for Islington").fill("60")
    page.get_by_label("Note for Islington").fill("from the March extract")
    page.get_by_role("button", name="Save values").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Islington (row 2): The numerator 70 is above the denominator 60.")
    expect(page.locator("#outcome")).to_contain_text("1 value saved")
    # Nothing typed is lost, and the summary's link takes the person to the box to correct.
    expect(page.get_by_label("Numerator for Islington")).to_have_value("70")
    expect(page.get_by_label("Note for Islington")).to_have_value("from the March extract")
    _fits_phones(page)
    assert_accessible(page)
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Numerator for Islington")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("50")
    page.get_by_role("button", name="Save values").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import report")
    assert OutcomeValue.objects.count() == 2
    _fits_phones(page)

    # A trial run of a CSV file, then one button to submit the same file.
    page.goto("/data/upload/")
    _fits_phones(page)
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "physical-checks.csv",
                "mimeType": "text/csv",
                "buffer": f"{HEADER}\ntest-physical,E09000007,2025-26 Q1,120,,\n".encode(),
            }
        ]
    )
    page.get_by_label("Trial run only (dry run)").check()
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("Trial run: nothing was saved.")).to_be_visible()
    _fits_phones(page)
    assert_accessible(page)
    assert not OutcomeValue.objects.filter(indicator__code="test-physical").exists()
    page.get_by_role("button", name="Submit this file").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import report")
    expect(page.locator("[data-count=created]")).to_have_text("1")
    real = Submission.objects.get(trial_of__isnull=False)
    assert real.filename == "physical-checks.csv" and not real.dry_run
    assert OutcomeValue.objects.get(indicator__code="test-physical").period == "2025-26 Q1"


def test_an_import_report_with_long_problems_fits_a_phone(page: Page, provider, provider_org, password):
    IndicatorFactory(
        code="test-count",
        name="A count (test)",
        definition="Something counted.",
        measure=Measure.COUNT,
        period_type=PeriodType.MONTH,
    )
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(provider.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/data/upload/")
    long_code = "no-such-indicator-with-a-very-long-name-that-never-breaks-anywhere"
    text = f"{HEADER}\n{long_code},E09000007,Apr-26,=SUM(A1),,\n{long_code},E09000007,2025-03,x,,\n"
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "bad.csv",
                "mimeType": "text/csv",
                "buffer": text.encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import report")
    _fits_phones(page)
    # Each stacked heading ("Row", "Column", "Code", "Problem") keeps to one line beside a long
    # problem: it had been squeezed to two letters a line ("Pr / o / bl / e / m").
    lines = page.locator(".lmh-issues .nhsuk-table-responsive__heading").evaluate_all(
        "spans => spans.map((s) => { const text = document.createRange(); text.selectNodeContents(s);"
        " return [s.textContent.trim(), text.getClientRects().length]; })"
    )
    assert lines and all(n == 1 for _, n in lines), lines
    assert_accessible(page)
