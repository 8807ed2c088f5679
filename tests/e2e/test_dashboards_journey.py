"""The public dashboards in a real browser: axe finds nothing, the chart draws, narrow screens reflow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.outcomes.test_dashboards import MAY, make_metric, proportion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def figures():
    indicator = proportion()
    limits = {"lower95": Decimal("48"), "upper95": Decimal("52")}
    make_metric(indicator, "LDN", MAY, num=1200, den=2473, **limits)
    make_metric(indicator, "LDN", num=1237, den=2473, **limits)
    make_metric(indicator, "NCL", num=61, den=122, comparison="similar")
    camden = {"lower95": Decimal("46.7"), "upper95": Decimal("65.6"), "comparison": "better"}
    make_metric(indicator, "CMD", num=58, den=103, **camden)
    hackney = {"lower95": Decimal("13.3"), "upper95": Decimal("28.9"), "comparison": "much_worse"}
    make_metric(indicator, "HCK", num=20, den=100, **hackney)
    make_metric(indicator, "ISL", num=3, den=12, suppressed=True)
    return indicator


def test_the_dashboards_are_accessible_and_draw_their_chart(page: Page, figures):
    page.goto("/dashboards/")
    expect(page.get_by_role("heading", name="Recovery rate, 2026-06")).to_be_visible()
    expect(page.get_by_role("link", name="Camden: 56.3%, Better than London")).to_be_visible()
    expect(page.get_by_role("link", name="Islington: suppressed (small numbers)")).to_be_visible()
    assert_accessible(page)

    # Sorting is a plain link: no script needed.
    page.get_by_role("link", name="Value (sort)").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_count(1)

    page.get_by_role("link", name="Camden: 56.3%, Better than London").click()
    expect(page.get_by_role("heading", name="Camden")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Recovery rate").click()
    expect(page.get_by_role("heading", name="London and Camden")).to_be_visible()
    # Chart.js drew on the canvas (a script error or a CSP refusal would fail the page fixture).
    page.wait_for_function("() => window.Chart && window.Chart.getChart('dashboard-chart') !== undefined")
    assert_accessible(page)


def test_the_dashboards_fit_a_narrow_phone_screen(page: Page, figures):
    page.set_viewport_size({"width": 320, "height": 800})
    for path in ["/dashboards/", "/dashboards/indicators/recovery/?area=E09000007", "/dashboards/areas/E09000007/"]:
        page.goto(path)
        assert_no_sideways_scrolling(page)  # the tile map and wide tables scroll inside their own regions
        assert_accessible(page)
