"""The public-health view in a real browser: spine chart, compare areas and trend pages are
axe-clean at 1280 and 320 px, and their SVG charts scale so nothing scrolls sideways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.outcomes.test_dashboards import MAY, make_metric, proportion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAGES = [
    "/dashboards/areas/E09000007/profile/",
    "/dashboards/indicators/recovery/compare/",
    "/dashboards/indicators/recovery/compare/?level=sub_region",
    "/dashboards/indicators/recovery/trend/?area=E09000007&group=ethnicity:black",
]


@pytest.fixture
def figures():
    indicator = proportion()
    indicator.breakdowns = ["ethnicity"]
    indicator.save()
    for period in (MAY, None):
        when = {} if period is None else {"period": period}
        make_metric(indicator, "LDN", **when, num=1237, den=2473, lower95=Decimal("48"), upper95=Decimal("52"))
        make_metric(indicator, "NCL", **when, num=61, den=122, comparison="similar")
        make_metric(
            indicator,
            "CMD",
            **when,
            num=58,
            den=103,
            comparison="better",
            lower95=Decimal("46.7"),
            upper95=Decimal("65.6"),
        )
        make_metric(
            indicator,
            "HCK",
            **when,
            num=20,
            den=100,
            comparison="much_worse",
            lower95=Decimal("13.3"),
            upper95=Decimal("28.9"),
        )
        make_metric(
            indicator,
            "HGY",
            **when,
            num=45,
            den=100,
            comparison="similar",
            lower95=Decimal("35.6"),
            upper95=Decimal("54.8"),
        )
        make_metric(
            indicator,
            "BRN",
            **when,
            num=52,
            den=100,
            comparison="similar",
            lower95=Decimal("42.3"),
            upper95=Decimal("61.5"),
        )
        make_metric(indicator, "ISL", **when, num=3, den=12, suppressed=True)
        make_metric(indicator, "LDN", **when, num=300, den=1000, breakdown="ethnicity", population_group="black")
    return indicator


def test_the_public_health_pages_are_accessible_and_draw_their_charts(page: Page, figures):
    page.goto("/dashboards/areas/E09000007/")
    page.get_by_role("link", name="Camden as a spine chart, against the spread of London's boroughs").click()
    expect(page.get_by_role("heading", name="Camden against London's boroughs")).to_be_visible()
    expect(page.get_by_role("img", name="Recovery rate: Camden 56.3%, better than London")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Recovery rate").first.click()
    expect(page.get_by_role("heading", name="Boroughs, 2026-06")).to_be_visible()
    expect(page.get_by_role("cell", name="Not shown (suppressed)")).to_be_visible()
    assert_accessible(page)

    page.goto("/dashboards/indicators/recovery/trend/")
    page.get_by_label("Camden").check()
    page.get_by_label("Ethnic group: Black, Black British, Black Welsh, Caribbean or African").check()
    page.get_by_role("button", name="Show figures").click()
    expect(
        page.get_by_role(
            "heading", name="London, Camden, London: Black, Black British, Black Welsh, Caribbean or African"
        )
    ).to_be_visible()
    assert_accessible(page)


def test_choosing_more_than_four_series_is_a_clear_accessible_error(page: Page, figures):
    page.goto(
        "/dashboards/indicators/recovery/trend/?area=E09000007&area=E09000012&area=E09000014&area=E09000003&group=ethnicity:black"
    )
    expect(page.get_by_role("alert")).to_contain_text("Choose at most 4 areas and groups in all: you chose 5.")
    assert_accessible(page)


@pytest.mark.parametrize("path", PAGES)
def test_the_public_health_pages_fit_a_narrow_phone_screen(page: Page, figures, path):
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(path)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
