"""The public-health view: spine chart profile, compare areas, trend (outcomes/public_health)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from outcomes.models import Measure, Metric, PeriodType, Polarity
from outcomes.public_health import charts
from stakeholders.models import Area
from tests.factories import IndicatorFactory, MetricFactory

pytestmark = pytest.mark.django_db

MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


def area(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code)


def indicator(code="recovery", measure=Measure.PROPORTION, polarity=Polarity.HIGHER_BETTER, **fields):
    return IndicatorFactory(
        code=code,
        name=fields.pop("name", f"Indicator {code}"),
        definition="Share who recovered.",
        measure=measure,
        polarity=polarity,
        period_type=PeriodType.MONTH,
        **fields,
    )


def metric(ind, short_code, value, period=JUNE, **fields):
    fields.setdefault("numerator", Decimal(value))
    fields.setdefault("denominator", 100)
    fields.setdefault("lower95", Decimal(value) - 5)
    fields.setdefault("upper95", Decimal(value) + 5)
    return MetricFactory(indicator=ind, area=area(short_code), period_start=period, value=Decimal(value), **fields)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# The spread: hand-computed percentiles ------------------------------------------------------


def test_percentiles_interpolate_between_closest_ranks():
    ordered = [Decimal(v) for v in (10, 20, 30, 40, 50)]
    assert charts.percentile(ordered, 0.25) == 20
    assert charts.percentile(ordered, 0.75) == 40
    four = [Decimal(v) for v in (1, 2, 3, 4)]
    # (4 - 1) x 0.25 = 0.75: 1 + 0.75 x (2 - 1); (4 - 1) x 0.75 = 2.25: 3 + 0.25 x (4 - 3)
    assert charts.percentile(four, 0.25) == Decimal("1.75")
    assert charts.percentile(four, 0.75) == Decimal("3.25")


def test_the_spread_rounds_its_percentiles_as_shown_and_needs_three_boroughs():
    spread = charts.spread([Decimal(v) for v in ("4", "1", "3", "2")], Measure.PROPORTION)
    assert (spread.lowest, spread.q1, spread.q3, spread.highest, spread.boroughs) == (
        1,
        Decimal("1.8"),
        Decimal("3.3"),
        4,
        4,
    )
    assert charts.spread([Decimal(1), Decimal(2)], Measure.PROPORTION) is None


# Borough profile as a spine chart -----------------------------------------------------------


@pytest.fixture
def june():
    """Recovery in June: London 50; Camden 60 (better); four more boroughs; Islington suppressed
    with a value (90) far above every published one."""
    ind = indicator()
    metric(ind, "LDN", "50", numerator=Decimal(500), denominator=1000)
    metric(ind, "CMD", "60", comparison="better")
    metric(ind, "HCK", "40", comparison="worse")
    metric(ind, "HGY", "45", comparison="similar")
    metric(ind, "BRN", "55", comparison="similar")
    metric(ind, "ENF", "30", comparison="much_worse")
    metric(ind, "ISL", "90", numerator=Decimal(3), denominator=4, suppressed=True)
    return ind


def test_the_profile_sets_the_borough_against_the_published_spread_with_london_as_the_centre(client, june):
    response = client.get("/dashboards/areas/E09000007/profile/")
    assert response.status_code == 200
    page = response.content.decode()
    # Published boroughs 30, 40, 45, 55, 60 (Islington's 90 is suppressed and left out):
    # Q1 = 40, Q3 = 55.
    assert "Better than London (circle)" in page
    for figure in ("30.0%", "40.0%", "55.0%", "60.0%", "50.0%"):
        assert figure in page
    assert "90.0%" not in page
    assert 'role="img"' in page and 'viewBox="0 0 600 40"' in page
    assert "boroughs from 30.0% to 60.0%, middle half 40.0% to 55.0%" in page


def test_the_spine_puts_better_on_the_right_whatever_the_polarity():
    spread = charts.Spread(Decimal(30), Decimal(40), Decimal(55), Decimal(60), 5)
    higher = str(
        charts.spine_svg(
            value=Decimal(60), london=Decimal(50), spread=spread, comparison="better", polarity="higher", label="x"
        )
    )
    lower = str(
        charts.spine_svg(
            value=Decimal(60), london=Decimal(50), spread=spread, comparison="worse", polarity="lower", label="x"
        )
    )
    # 60 is the extreme above London (distance 20 to 30 is the larger: scale 286 / 20): right when higher is better.
    assert '<circle cx="443.0"' in higher
    assert '<rect x="150.0" y="13.0"' in lower  # the square (worse) is left of the centre (300)


def test_a_suppressed_borough_has_no_marker_and_says_so(client, june):
    page = client.get("/dashboards/areas/E09000019/profile/").content.decode()
    assert "Suppressed" in page
    assert "<circle" not in page.split('class="lmh-ph-spine"')[1].split("</ul>")[0]


def test_the_profile_downloads_its_table_as_csv(client, june):
    response = client.get("/dashboards/areas/E09000007/profile/", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    header, row = csv_rows(response)
    assert header[:7] == ["indicator", "indicator_name", "period", "area_code", "area_name", "value", "london_value"]
    assert row[5:12] == ["60.0%", "50.0%", "30.0", "40.0", "55.0", "60.0", "5"]


@pytest.mark.parametrize("code", ["E12000007", "E09999999"])
def test_london_or_an_unknown_area_has_no_spine_chart(client, june, code):
    assert client.get(f"/dashboards/areas/{code}/profile/").status_code == 404


def test_the_area_dashboard_links_to_the_spine_chart(client, june):
    assert "/dashboards/areas/E09000007/profile/" in client.get("/dashboards/areas/E09000007/").content.decode()


def _fill(ind, boroughs: int, periods: int) -> None:
    starts = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(periods)]
    areas = [area("LDN"), *Area.objects.sub_regions(), *Area.objects.boroughs().order_by("name")[:boroughs]]
    now = timezone.now()
    Metric.objects.bulk_create(
        Metric(
            indicator=ind,
            area=a,
            period_start=start,
            basis="approved",
            numerator=40 + n,
            denominator=100,
            value=Decimal(40 + n),
            lower95=Decimal(35 + n),
            upper95=Decimal(45 + n),
            comparison="similar",
            computed_at=now,
        )
        for start in starts
        for n, a in enumerate(areas)
    )


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_spine_chart_runs_a_fixed_number_of_queries(client, django_assert_num_queries, boroughs, periods):
    _fill(indicator("one"), boroughs, periods)
    _fill(indicator("two", polarity=Polarity.LOWER_BETTER), boroughs, periods)
    # the area, the indicators, each indicator's latest period, the cells' metrics
    with django_assert_num_queries(4):
        assert client.get("/dashboards/areas/E09000002/profile/").status_code == 200


# Compare areas ---------------------------------------------------------------------------------


def test_compare_sorts_the_bars_lists_suppressed_areas_as_not_shown_and_draws_london(client, june):
    response = client.get("/dashboards/indicators/recovery/compare/")
    assert response.status_code == 200
    page = response.content.decode()
    table = page.split('id="table-heading"')[1]
    order = [table.index(name) for name in ("Camden", "Barnet", "Haringey", "Hackney", "Enfield", "Islington")]
    assert order == sorted(order)
    assert "Not shown (suppressed)" in table
    chart = page.split('class="lmh-ph-svg"')[1].split("</svg>")[0]
    assert "Islington" not in chart and "Camden" in chart
    assert "London 50.0%" in chart and "stroke-dasharray" in chart


def test_compare_puts_the_lowest_first_when_lower_is_better(client):
    ind = indicator("detentions", polarity=Polarity.LOWER_BETTER)
    metric(ind, "LDN", "50")
    metric(ind, "CMD", "60")
    metric(ind, "HCK", "40")
    page = client.get("/dashboards/indicators/detentions/compare/").content.decode()
    assert page.index("Hackney 40.0%") < page.index("Camden 60.0%")


def test_the_compare_csv_is_exactly_what_is_shown(client, june):
    rows = csv_rows(client.get("/dashboards/indicators/recovery/compare/", {"format": "csv"}))
    assert rows[0][:6] == ["indicator", "period", "basis", "rank", "area_code", "area_name"]
    names = [(r[3], r[5], r[7], r[-1]) for r in rows[1:]]
    assert names == [
        ("", "London", "50.0%", "line"),
        ("1", "Camden", "60.0%", "bar"),
        ("2", "Barnet", "55.0%", "bar"),
        ("3", "Haringey", "45.0%", "bar"),
        ("4", "Hackney", "40.0%", "bar"),
        ("5", "Enfield", "30.0%", "bar"),
        ("", "Islington", "*", "not shown (suppressed)"),
    ]


def test_compare_sub_regions_and_an_earlier_period(client, june):
    metric(june, "NCL", "52", comparison="similar")
    metric(june, "NCL", "48", period=MAY)
    metric(june, "LDN", "47", period=MAY, lower95=None, upper95=None)
    page = client.get(
        "/dashboards/indicators/recovery/compare/", {"level": "sub_region", "period": "2026-05"}
    ).content.decode()
    assert "48.0%" in page and "52.0%" not in page and "Camden" not in page.split('id="table-heading"')[1]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/dashboards/indicators/nope/compare/", 404),
        ("/dashboards/indicators/recovery/compare/?level=ward", 400),
        ("/dashboards/indicators/recovery/compare/?format=xlsx", 400),
    ],
)
def test_compare_refuses_what_it_cannot_answer(client, june, path, status):
    assert client.get(path).status_code == status


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_compare_runs_a_fixed_number_of_queries(client, django_assert_num_queries, boroughs, periods):
    _fill(indicator("one"), boroughs, periods)
    # the indicator, London's periods, the cell's metrics
    with django_assert_num_queries(3):
        assert client.get("/dashboards/indicators/one/compare/").status_code == 200


def test_anonymous_people_asking_for_provisional_figures_get_the_approved_ones(client, june):
    metric(june, "CMD", "99", basis=Metric.Basis.PROVISIONAL, also_provisional=False)
    page = client.get("/dashboards/indicators/recovery/compare/", {"basis": "provisional"}).content.decode()
    assert "99.0%" not in page and "60.0%" in page


# Trend -----------------------------------------------------------------------------------------


@pytest.fixture
def series():
    ind = indicator(breakdowns=["ethnicity"])
    for period, ldn, cmd in ((MAY, "48", "58"), (JUNE, "50", "60")):
        metric(ind, "LDN", ldn, period=period)
        metric(ind, "CMD", cmd, period=period)
        metric(ind, "HCK", "30", period=period)
        metric(ind, "LDN", "35", period=period, breakdown="ethnicity", population_group="black")
    return ind


def test_the_trend_draws_london_the_chosen_areas_and_groups_with_a_table(client, series):
    response = client.get("/dashboards/indicators/recovery/trend/", {"area": "E09000007", "group": "ethnicity:black"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "London: Black, Black British, Black Welsh, Caribbean or African" in page
    assert "The axis starts at zero." in page
    chart = page.split('class="lmh-ph-svg"')[1].split("</svg>")[0]
    assert chart.count("<path") == 3  # London, Camden, London's Black group
    table = page.split('id="table-heading"')[1]
    assert "58.0%" in table and "35.0%" in table and "Hackney" not in table  # Hackney not chosen


def test_the_trend_csv_is_exactly_what_is_shown(client, series):
    rows = csv_rows(
        client.get(
            "/dashboards/indicators/recovery/trend/", {"area": "E09000007", "group": "ethnicity:black", "format": "csv"}
        )
    )
    assert [(r[1], r[3], r[4], r[5], r[7]) for r in rows[1:]] == [
        ("London", "", "", "2026-05", "48.0%"),
        ("London", "", "", "2026-06", "50.0%"),
        ("Camden", "", "", "2026-05", "58.0%"),
        ("Camden", "", "", "2026-06", "60.0%"),
        ("London: Black, Black British, Black Welsh, Caribbean or African", "ethnicity", "black", "2026-05", "35.0%"),
        ("London: Black, Black British, Black Welsh, Caribbean or African", "ethnicity", "black", "2026-06", "35.0%"),
    ]


def test_more_than_four_areas_and_groups_is_a_clear_error(client, series):
    asked = {"area": ["E09000007", "E09000012", "E09000014", "E09000019"], "group": "ethnicity:black"}
    response = client.get("/dashboards/indicators/recovery/trend/", asked)
    assert response.status_code == 400
    assert "Choose at most 4 areas and groups in all: you chose 5." in response.content.decode()
    assert client.get("/dashboards/indicators/recovery/trend/", {**asked, "format": "csv"}).status_code == 400


def test_a_count_is_drawn_one_series_at_a_time_never_beside_londons_total(client):
    counts = indicator("detentions", measure=Measure.COUNT, polarity=Polarity.LOWER_BETTER)
    for period, ldn, cmd in ((MAY, "870", "30"), (JUNE, "875", "35")):
        metric(counts, "LDN", ldn, period=period, denominator=None, lower95=None, upper95=None)
        metric(counts, "CMD", cmd, period=period, denominator=None, lower95=None, upper95=None)
        metric(counts, "HCK", "40", period=period, denominator=None, lower95=None, upper95=None)
    url = "/dashboards/indicators/detentions/trend/"
    page = client.get(url, {"area": "E09000007"}).content.decode()
    chart = page.split('class="lmh-ph-svg"')[1].split("</svg>")[0]
    assert chart.count("<path") == 1  # Camden alone, not beside London's 875
    table = page.split('id="table-heading"')[1]
    assert "35" in table and "875" not in table
    rows = csv_rows(client.get(url, {"area": "E09000007", "format": "csv"}))
    assert {r[1] for r in rows[1:]} == {"Camden"}
    # Nothing chosen: London's total, alone.
    page = client.get(url).content.decode()
    assert page.split('class="lmh-ph-svg"')[1].split("</svg>")[0].count("<path") == 1
    # Two areas' counts side by side would compare sizes: a clear error.
    response = client.get(url, {"area": ["E09000007", "E09000012"]})
    assert response.status_code == 400
    assert "A count is drawn for one area or group at a time" in response.content.decode()


@pytest.mark.parametrize("asked", [{"area": "E99999999"}, {"group": "ethnicity:martian"}, {"group": "sex:female"}])
def test_an_unknown_area_or_group_is_an_error(client, series, asked):
    assert client.get("/dashboards/indicators/recovery/trend/", asked).status_code == 400


def test_a_mean_axis_that_does_not_start_at_zero_says_so(client):
    ind = indicator("wellbeing", measure=Measure.MEAN, polarity=Polarity.HIGHER_BETTER)
    metric(ind, "LDN", "24.5", period=MAY, denominator=1000)
    metric(ind, "LDN", "25.5", period=JUNE, denominator=1000)
    page = client.get("/dashboards/indicators/wellbeing/trend/").content.decode()
    assert "The axis does not start at zero" in page


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_trend_runs_a_fixed_number_of_queries(client, django_assert_num_queries, boroughs, periods):
    _fill(indicator("one"), boroughs, periods)
    # the indicator, the area choices, the series
    with django_assert_num_queries(3):
        assert client.get("/dashboards/indicators/one/trend/", {"area": ["E09000002", "E09000003"]}).status_code == 200
