"""The inequalities page in a real browser: axe finds nothing, the chart is drawn, a phone screen reflows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.outcomes.test_inequalities import CAMDEN, FEB, JAN, area, figure, gap_row, indicator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def groups():
    access = indicator()
    camden = area("CMD")
    for period, asian, black in ((JAN, "60", "28"), (FEB, "58", "48")):
        figure(access, camden, period, value="52")
        figure(access, camden, period, "ethnicity", "asian", value=asian, comparison="better")
        figure(access, camden, period, "ethnicity", "black", value=black, comparison="worse")
        figure(access, camden, period, "ethnicity", "white", value="53", comparison="similar")
        figure(access, camden, period, "ethnicity", "mixed", value="66.7", numerator=2, denominator=3, suppressed=True)
        gap_row(access, camden, period)
    return access


def test_a_visitor_finds_which_groups_fare_worse_and_whether_the_gap_is_closing(page: Page, groups):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/dashboards/indicators/access/?area={CAMDEN}")
    page.get_by_role("link", name="Inequalities: which groups fare worse, and is the gap closing?").click()
    expect(page.get_by_role("heading", name="By ethnic group, 2026-02")).to_be_visible()
    expect(
        page.get_by_role("img", name="Access to talking therapies by ethnic group in Camden, 2026-02")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="Worse than all people")).to_be_visible()
    expect(page.get_by_role("cell", name="Not shown (small numbers)")).to_be_visible()
    expect(page.get_by_text("Narrowing.")).to_be_visible()
    assert_no_sideways_scrolling(page)
    assert_accessible(page)

    # Choosing another period is a plain GET form: no script needed.
    page.get_by_label("Period", exact=True).select_option("2026-01")
    page.get_by_label("Population groups").select_option("ethnicity")
    page.get_by_role("button", name="Show figures").click()
    expect(page.get_by_role("heading", name="By ethnic group, 2026-01")).to_be_visible()
    assert_accessible(page)


def test_the_inequalities_page_fits_a_narrow_phone_screen(page: Page, groups):
    page.set_viewport_size({"width": 320, "height": 800})
    for path in [
        f"/dashboards/indicators/access/inequalities/?area={CAMDEN}",
        "/dashboards/indicators/access/inequalities/",  # London: no figures yet
    ]:
        page.goto(path)
        assert_no_sideways_scrolling(page)
        assert_accessible(page)
        if "area=" in path:
            # The groups' labels are text at full size that wraps, not SVG text scaled to 8 px and
            # cut off at the edge; the axis shown is the one with the larger labels.
            labels = page.locator(".lmh-dot-chart__label")
            expect(labels.first).to_have_text("Asian, Asian British or Asian Welsh: 58.0%")
            assert min(labels.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")) >= 14
            for k in range(labels.count()):
                box = labels.nth(k).bounding_box()
                assert box is not None and box["x"] + box["width"] <= 320
            expect(page.locator(".lmh-dot-chart__axis--narrow").first).to_be_visible()
            expect(page.locator(".lmh-dot-chart__axis--wide").first).to_be_hidden()
