"""What is compared with what (docs/statistics.md): a count is never compared nor ranked.

Every measure at every area level, through both aggregation paths, the Python reference and
every output that shows a comparison, a quintile, a map colour or a range.
"""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes import dashboards
from outcomes.aggregation import metrics_rebuild_all, metrics_recompute_cells
from outcomes.models import Door, Indicator, Measure, Metric, OutcomeValue, PeriodType, Polarity, Population
from outcomes.statistics import Comparison, compare, quintiles
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = dt.date(2025, 4, 1)
COMPARED = (Measure.PROPORTION, Measure.RATE, Measure.MEAN)


@pytest.fixture
def submission(db):
    return SubmissionFactory(organisation=OrganisationFactory(), submitted_by=UserFactory(), door=Door.API)


def _cell(submission, measure, polarity=Polarity.HIGHER_BETTER) -> Indicator:
    """Ten boroughs far apart: every comparable figure is much better or much worse than London."""
    indicator = IndicatorFactory(
        code=f"i-{measure}-{polarity}",
        name=f"{measure} indicator",
        definition="d",
        measure=measure,
        polarity=polarity,
        period_type=PeriodType.YEAR,
    )
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name")[:10])
    for index, borough in enumerate(boroughs):
        num = 100 + index * 200
        den = {Measure.PROPORTION: 2000, Measure.MEAN: 50}.get(measure)
        if measure == Measure.MEAN:
            num = 50 * (10 + index * 3)
        if measure == Measure.RATE:
            Population.objects.get_or_create(area=borough, year=2025, defaults={"population": 100_000})
        OutcomeValue.objects.create(
            organisation=submission.organisation,
            indicator=indicator,
            borough=borough,
            period_start=PERIOD,
            numerator=num,
            denominator=den,
            status="approved",
            submission=submission,
            submitted_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC),
        )
    if measure == Measure.RATE:
        for area in Area.objects.exclude(level=AreaLevel.BOROUGH):
            population = 1_000_000 if area.level == AreaLevel.LONDON else 400_000
            Population.objects.get_or_create(area=area, year=2025, defaults={"population": population})
    return indicator


def _rows(indicator):
    return {
        m.area.short_code: m
        for m in Metric.objects.of_basis("approved").filter(indicator=indicator).select_related("area", "indicator")
    }


@pytest.mark.parametrize("level", [AreaLevel.BOROUGH, AreaLevel.SUB_REGION, AreaLevel.LONDON])
def test_a_count_is_never_compared_nor_ranked_at_any_area_level_on_either_path(submission, level):
    counts = _cell(submission, Measure.COUNT)
    metrics_recompute_cells([(counts.pk, PERIOD.isoformat())])
    incremental = list(Metric.objects.filter(indicator=counts).order_by("area_id", "basis").values())
    rows = [m for m in _rows(counts).values() if m.area.level == level]
    assert rows
    assert {(m.comparison, m.quintile) for m in rows} == {("not_compared", None)}
    shown = dashboards.public_metrics(rows)
    assert {(r.comparison, r.quintile, r.comparison_label) for r in shown} == {("not_compared", None, "Not compared")}
    Metric.objects.all().delete()
    metrics_rebuild_all()
    rebuilt = list(Metric.objects.filter(indicator=counts).order_by("area_id", "basis").values())
    assert [{k: v for k, v in r.items() if k not in ("id", "computed_at")} for r in rebuilt] == [
        {k: v for k, v in r.items() if k not in ("id", "computed_at")} for r in incremental
    ]


@pytest.mark.parametrize("measure", COMPARED)
def test_proportions_rates_and_means_are_compared_below_london_and_ranked_among_boroughs(submission, measure):
    indicator = _cell(submission, measure)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    rows = _rows(indicator)
    boroughs = [m for m in rows.values() if m.area.level == AreaLevel.BOROUGH]
    regions = [m for m in rows.values() if m.area.level == AreaLevel.SUB_REGION]
    assert {m.quintile for m in boroughs} == {1, 2, 3, 4, 5}
    if measure == Measure.MEAN:
        # A mean has no interval without a standard deviation (not collected): ranked, not compared.
        assert {m.comparison for m in boroughs + regions} == {"not_compared"}
    else:
        assert {m.comparison for m in boroughs} >= {"much_better", "much_worse"}
        assert any(m.comparison != "not_compared" for m in regions)
    assert all(m.quintile is None for m in regions)  # quintiles are among boroughs only
    assert rows["LDN"].comparison == "not_compared" and rows["LDN"].quintile is None  # the benchmark
    before = sorted(Metric.objects.filter(indicator=indicator).values_list("area_id", "comparison", "quintile"))
    Metric.objects.all().delete()
    metrics_rebuild_all()
    assert sorted(Metric.objects.filter(indicator=indicator).values_list("area_id", "comparison", "quintile")) == (
        before
    )


@pytest.mark.parametrize("measure", COMPARED)
def test_with_no_judgement_figures_are_higher_or_lower_and_quintile_1_is_the_highest(submission, measure):
    indicator = _cell(submission, measure, Polarity.NO_JUDGEMENT)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    boroughs = sorted(
        (m for m in _rows(indicator).values() if m.area.level == AreaLevel.BOROUGH), key=lambda m: m.value
    )
    assert boroughs[0].quintile == 5 and boroughs[-1].quintile == 1
    if measure != Measure.MEAN:
        assert boroughs[0].comparison == "much_lower" and boroughs[-1].comparison == "much_higher"
    assert not {m.comparison for m in boroughs} & {"better", "worse", "much_better", "much_worse"}


def test_the_python_reference_never_compares_nor_ranks_a_count():
    assert compare(50, (60, 70), (58, 72), "higher", measure="count") == Comparison.NOT_COMPARED
    assert compare(50, (60, 70), (58, 72), "higher", measure="rate") == Comparison.MUCH_BETTER
    values = {str(i): float(i) for i in range(10)}
    assert quintiles(values, "higher", measure="count") == {}
    assert quintiles(values, "higher", measure="proportion")["9"] == 1


def test_a_count_stored_with_a_comparison_is_still_shown_not_compared(submission):
    counts = _cell(submission, Measure.COUNT)
    metrics_recompute_cells([(counts.pk, PERIOD.isoformat())])
    Metric.objects.filter(indicator=counts).update(comparison="much_worse", quintile=5)
    for row in dashboards.public_metrics(Metric.objects.filter(indicator=counts).select_related("area", "indicator")):
        assert row.comparison == "not_compared" and row.quintile is None and not row.comparable


def test_the_overview_of_a_count_colours_no_tile_and_says_why_one_click_away(client, submission):
    counts = _cell(submission, Measure.COUNT)
    metrics_recompute_cells([(counts.pk, PERIOD.isoformat())])
    html = client.get("/dashboards/", {"indicator": counts.code}).content.decode()
    tiles = html[html.index('class="lmh-tiles"') : html.index("</ul>", html.index('class="lmh-tiles"'))]
    assert "lmh-tile--much" not in tiles and "lmh-tile--better" not in tiles and "lmh-tile--worse" not in tiles
    assert "lmh-tile--not_compared" in tiles
    assert "Much worse than London" not in html and "Much better than London" not in html
    assert 'id="not-compared"' in html and "part of London&#39;s total" in html and "&lt;p&gt;" not in html
    assert 'href="#not-compared"' in html
    data = client.get("/dashboards/", {"indicator": counts.code, "format": "json"}).json()
    assert {(r["comparison"], r["quintile"]) for r in data["rows"]} == {("not_compared", None)}


def test_the_profile_gives_a_count_no_range_no_comparison_and_a_link_to_the_reason(client, submission):
    counts = _cell(submission, Measure.COUNT)
    rates = _cell(submission, Measure.RATE)
    metrics_recompute_cells([(counts.pk, PERIOD.isoformat()), (rates.pk, PERIOD.isoformat())])
    for code in ("E09000007", "E54000028"):  # a borough (Camden) and a sub-region (North Central London)
        response = client.get(f"/dashboards/areas/{code}/", {"format": "json"})
        rows = {r["indicator"]: r for r in response.json()["rows"]}
        assert rows[counts.code]["borough_range_low"] is None and rows[counts.code]["comparison"] == "not_compared"
        assert rows[rates.code]["borough_range_low"] is not None
    html = client.get("/dashboards/areas/E09000007/").content.decode()
    assert '<a href="#not-compared">Not compared</a>' in html and 'id="not-compared"' in html


def test_the_indicator_page_draws_a_count_for_the_chosen_area_alone(client, submission):
    counts = _cell(submission, Measure.COUNT)
    metrics_recompute_cells([(counts.pk, PERIOD.isoformat())])
    html = client.get(f"/dashboards/indicators/{counts.code}/", {"area": "E09000007"}).content.decode()
    data = html[html.index('id="dashboard-chart-data"') :]
    assert '"name": "Camden"' in data and '"name": "London"' not in data[: data.index("</script>")]
    assert 'id="not-compared"' in html
