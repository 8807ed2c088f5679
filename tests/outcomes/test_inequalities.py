"""The inequalities page, its download and its reads: groups side by side, the gap and its trend."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from outcomes.breakdowns import Breakdown
from outcomes.inequalities import report as reports
from outcomes.inequalities import selectors
from outcomes.models import InequalityMetric, Measure, Metric, PeriodType, Polarity
from stakeholders.models import Area
from tests.factories import IndicatorFactory, MetricFactory

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
CAMDEN = "E09000007"
URL = "/dashboards/indicators/access/inequalities/"


def area(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code)


def indicator(code="access", breakdowns=(Breakdown.ETHNICITY, Breakdown.DEPRIVATION), **fields):
    return IndicatorFactory(
        code=code,
        name="Access to talking therapies",
        measure=fields.pop("measure", Measure.PROPORTION),
        polarity=fields.pop("polarity", Polarity.HIGHER_BETTER),
        period_type=PeriodType.MONTH,
        breakdowns=list(breakdowns),
        **fields,
    )


def figure(ind, where, period, breakdown="", group="", *, value, low=None, high=None, **fields) -> Metric:
    """A stored figure (a proportion of 100 people unless told), limits given or +/- 10."""
    value = Decimal(value)
    return MetricFactory(
        indicator=ind,
        area=where,
        period_start=period,
        breakdown=breakdown,
        population_group=group,
        numerator=fields.pop("numerator", value),
        denominator=fields.pop("denominator", 100),
        value=value,
        lower95=Decimal(low) if low is not None else value - 10,
        upper95=Decimal(high) if high is not None else value + 10,
        lower998=value - 15,
        upper998=value + 15,
        **fields,
    )


def gap_row(ind, where, period, breakdown=Breakdown.ETHNICITY, **fields) -> InequalityMetric:
    defaults = {"groups_compared": 3, "best_group": "asian", "worst_group": "black", "basis": Metric.Basis.APPROVED}
    return InequalityMetric.objects.create(
        indicator=ind,
        area=where,
        period_start=period,
        breakdown=breakdown,
        computed_at=timezone.now(),
        **(defaults | fields),
    )


@pytest.fixture
def access():
    return indicator()


@pytest.fixture
def camden_groups(access):
    """Camden in January and February by ethnicity: Asian best, Black worst, Mixed suppressed (3 people)."""
    camden = area("CMD")
    for period, asian, black in ((JAN, "60", "28"), (FEB, "58", "48")):
        figure(access, camden, period, value="52")
        figure(access, camden, period, "ethnicity", "asian", value=asian, comparison="better")
        figure(access, camden, period, "ethnicity", "black", value=black, comparison="worse")
        figure(access, camden, period, "ethnicity", "white", value="53", comparison="similar")
        figure(access, camden, period, "ethnicity", "mixed", value="66.7", numerator=2, denominator=3, suppressed=True)
        gap_row(
            access,
            camden,
            period,
            best_value=Decimal(asian),
            worst_value=Decimal(black),
            gap=Decimal(black) - Decimal(asian),
            ratio=Decimal(black) / Decimal(asian),
        )
    return camden


# Selectors -----------------------------------------------------------------------------


def test_the_area_figures_hold_the_headline_and_every_group_of_every_period(access, camden_groups):
    figure(access, area("ISL"), JAN, "ethnicity", "asian", value="10")  # another borough: not read
    rows = list(selectors.area_group_metrics(indicator=access, area=camden_groups, basis="approved"))
    assert len(rows) == 10
    assert {(r.breakdown, r.population_group) for r in rows if r.period_start == JAN} == {
        ("", ""),
        ("ethnicity", "asian"),
        ("ethnicity", "black"),
        ("ethnicity", "white"),
        ("ethnicity", "mixed"),
    }
    assert [r.period_start for r in rows] == sorted(r.period_start for r in rows)


def test_provisional_gap_measures_fall_back_to_the_approved_row_where_none_was_stored(access):
    camden = area("CMD")
    gap_row(access, camden, JAN, gap=Decimal("-10"))
    gap_row(access, camden, FEB, gap=Decimal("-8"))
    gap_row(access, camden, FEB, gap=Decimal("-5"), basis=Metric.Basis.PROVISIONAL)
    approved = selectors.area_inequalities(indicator=access, area=camden, basis="approved")
    provisional = selectors.area_inequalities(indicator=access, area=camden, basis="provisional")
    assert [r.gap for r in approved] == [Decimal("-10"), Decimal("-8")]
    assert [(r.period_start, r.gap) for r in provisional] == [(JAN, Decimal("-10")), (FEB, Decimal("-5"))]


def test_the_areas_are_london_then_sub_regions_then_boroughs():
    levels = [a.level for a in selectors.inequality_areas()]
    assert levels[0] == "london"
    assert levels.index("borough") > max(i for i, level in enumerate(levels) if level == "sub_region")


# The report ----------------------------------------------------------------------------


def build(access, where, breakdowns=("ethnicity",), wanted=None, basis="approved"):
    return reports.build(
        indicator=access,
        area=where,
        basis=basis,
        metrics=selectors.area_group_metrics(indicator=access, area=where, basis=basis),
        inequalities=selectors.area_inequalities(indicator=access, area=where, basis=basis),
        breakdowns=list(breakdowns),
        wanted=wanted,
    )


def test_the_report_shows_the_latest_period_with_suppressed_groups_hidden(access, camden_groups):
    report = build(access, camden_groups)
    assert report.period == "2026-02"
    section = report.sections[0]
    by_code = {g.code: g for g in section.groups}
    assert [g.code for g in section.groups] == ["asian", "black", "mixed", "white", "other", "not-known"]
    assert by_code["mixed"].value_text == "Not shown (small numbers)"
    assert by_code["mixed"].comparison_text == ""
    assert by_code["other"].value_text == "No figure"
    assert by_code["black"].comparison_text == "Worse than all people"
    assert section.all_people.value == Decimal("52.0")


def test_a_group_counted_but_with_nothing_to_divide_by_is_not_called_small(access, camden_groups):
    # "Not known" has people counted (12, enough to show) but no population: no rate, not suppressed.
    MetricFactory(
        indicator=access,
        area=camden_groups,
        period_start=FEB,
        breakdown="ethnicity",
        population_group="not-known",
        numerator=12,
        denominator=None,
        value=None,
        lower95=None,
        upper95=None,
        lower998=None,
        upper998=None,
    )
    by_code = {g.code: g for g in build(access, camden_groups).sections[0].groups}
    assert by_code["not-known"].value_text == "No figure (no population or denominator for this group)"
    assert by_code["mixed"].value_text == "Not shown (small numbers)"


def test_the_gap_and_ratio_are_worked_out_from_the_published_figures(access, camden_groups):
    gap = build(access, camden_groups).sections[0].gap
    assert gap.shown
    assert (gap.best_label, gap.best_value) == ("Asian, Asian British or Asian Welsh", Decimal("58.0"))
    assert (gap.worst_label, gap.worst_value) == (
        "Black, Black British, Black Welsh, Caribbean or African",
        Decimal("48.0"),
    )
    assert gap.gap == Decimal("-10.0")
    assert gap.ratio == Decimal("0.83")  # 48 / 58


def test_no_gap_is_given_when_it_names_a_suppressed_group(access, camden_groups):
    InequalityMetric.objects.filter(period_start=FEB).update(worst_group="mixed")
    gap = build(access, camden_groups).sections[0].gap
    assert not gap.shown and gap.gap is None
    assert "not published" in gap.reason


def test_a_suppressed_gap_says_why(access, camden_groups):
    InequalityMetric.objects.filter(period_start=FEB).update(suppressed=True, groups_compared=1)
    gap = build(access, camden_groups).sections[0].gap
    assert not gap.shown
    assert gap.reason.startswith("Fewer than two groups")


def test_the_gap_narrows_when_the_change_is_beyond_chance(access, camden_groups):
    # January: 28 - 60 = -32; February: 48 - 58 = -10. Each group's limits are +/- 10, so each
    # gap's standard error is hypot(10/1.96, 10/1.96) = 7.22 and the change's 10.2: a change of
    # 22 is beyond 1.96 x 10.2 = 20.0.
    section = build(access, camden_groups).sections[0]
    assert [g.gap for g in section.history] == [Decimal("-32.0"), Decimal("-10.0")]
    assert section.trend == reports.Trend.NARROWING
    assert section.trend_label == "Narrowing"


def test_a_change_within_chance_is_no_clear_change(access, camden_groups):
    Metric.with_groups.filter(period_start=JAN, population_group="black").update(value=Decimal("31"))
    # -29 to -10: a change of 19, under 20.0.
    section = build(access, camden_groups).sections[0]
    assert section.trend == reports.Trend.NO_CLEAR_CHANGE


def test_the_gap_widens_when_it_grows_beyond_chance(access, camden_groups):
    Metric.with_groups.filter(period_start=JAN, population_group="black").update(value=Decimal("50"))
    Metric.with_groups.filter(period_start=JAN, population_group="asian").update(value=Decimal("52"))
    Metric.with_groups.filter(period_start=FEB, population_group="black").update(value=Decimal("28"))
    section = build(access, camden_groups).sections[0]
    assert section.trend == reports.Trend.WIDENING


def test_one_period_gives_no_trend(access, camden_groups):
    InequalityMetric.objects.filter(period_start=JAN).delete()
    section = build(access, camden_groups).sections[0]
    assert section.trend == reports.Trend.NOT_ASSESSED


def test_deprivation_gives_the_slope_and_relative_index_rounded_and_its_trend_uses_the_slope(access):
    camden = area("CMD")
    for period, sii in ((JAN, "-20.04"), (FEB, "-19.96")):
        figure(access, camden, period, value="50")
        figure(access, camden, period, "deprivation", "q1", value="40")
        figure(access, camden, period, "deprivation", "q5", value="60")
        gap_row(
            access,
            camden,
            period,
            Breakdown.DEPRIVATION,
            best_group="q5",
            worst_group="q1",
            sii=Decimal(sii),
            sii_lower95=Decimal(sii) - 5,
            sii_upper95=Decimal(sii) + 5,
            rii=Decimal("0.6666"),
            rii_lower95=Decimal("0.55"),
            rii_upper95=Decimal("0.8"),
        )
    section = build(access, camden, ("deprivation",)).sections[0]
    gap = section.gap
    assert (gap.sii, gap.sii_lower95, gap.sii_upper95) == (Decimal("-20.0"), Decimal("-25.0"), Decimal("-15.0"))
    assert gap.rii == Decimal("0.67")
    assert section.trend == reports.Trend.NO_CLEAR_CHANGE


def test_counts_give_no_gap_no_slope_index_and_no_tested_trend():
    counts = indicator("detentions", measure=Measure.COUNT, polarity=Polarity.LOWER_BETTER)
    camden = area("CMD")
    for period in (JAN, FEB):
        figure(counts, camden, period, value="52", numerator=52, denominator=None)
        figure(counts, camden, period, "deprivation", "q1", value="23", numerator=23, denominator=None)
        figure(counts, camden, period, "deprivation", "q5", value="7", numerator=7, denominator=None)
        gap_row(counts, camden, period, Breakdown.DEPRIVATION, best_group="q5", worst_group="q1", sii=Decimal("12"))
    section = build(counts, camden, ("deprivation",)).sections[0]
    # Quintile 1's 25 (published rounded to 5) beside quintile 5's 5 says only which group is bigger.
    assert not section.gap.shown and section.gap.gap is None and section.gap.worst_value is None
    assert "Counts are not compared between groups" in section.gap.reason
    assert section.gap.sii is None
    assert section.trend == reports.Trend.NOT_ASSESSED
    assert [g.value_text for g in section.groups if g.code in ("q1", "q5")] == ["25", "5"]  # the counts still shown


# The page ------------------------------------------------------------------------------


def test_the_page_shows_the_groups_the_gap_and_its_trend_to_the_public(client, access, camden_groups):
    response = client.get(URL, {"area": CAMDEN, "breakdown": "ethnicity"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Inequalities in Camden" in html
    assert "By ethnic group, 2026-02" in html
    assert "Not shown (small numbers)" in html
    assert "Worse than all people" in html and "Better than all people" in html
    # the gap (worst minus best, -10) said once, its direction in words; signed in the trend table
    assert "10.0 percentage points lower in the worst group than in the best, among 3 groups" in html
    assert "worst minus best:" not in html
    assert ">-10.0 percentage points<" in html
    assert "Narrowing." in html
    assert "<svg" in html and "stroke-dasharray" in html  # the chart, with the all-people line
    # each group's label is text above its strip; the axis twice, the phone's with its end labels inside
    assert '<p class="lmh-dot-chart__label">Black, Black British, Black Welsh, Caribbean or African: 48.0%</p>' in html
    assert "lmh-dot-chart__axis--wide" in html and "lmh-dot-chart__axis--narrow" in html
    assert 'text-anchor="start"' in html and 'text-anchor="end"' in html
    # the trend table's region is named by its own caption, which names the breakdown: a page with
    # two breakdowns has two regions with different names (axe's landmark-unique)
    assert 'aria-labelledby="trend-table-ethnicity"' in html
    assert '<caption id="trend-table-ethnicity" class="nhsuk-u-visually-hidden">The gap by ethnic group in' in html
    assert "66.7" not in html  # the suppressed group's value


def test_the_page_reads_london_when_no_area_is_given(client, access):
    london = area("LDN")
    figure(access, london, JAN, value="50")
    figure(access, london, JAN, "ethnicity", "black", value="40", comparison="worse")
    html = client.get(URL).content.decode()
    assert "Inequalities in London" in html
    assert "By deprivation quintile (IMD), 2026-01" in html  # every breakdown the indicator accepts
    assert "No gap has been worked out for this period yet." in html


def test_a_suppressed_gap_is_explained_on_the_page(client, access, camden_groups):
    InequalityMetric.objects.filter(period_start=FEB).update(suppressed=True, groups_compared=1)
    html = client.get(URL, {"area": CAMDEN, "breakdown": "ethnicity"}).content.decode()
    assert "No gap is given: fewer than two groups" in html


def test_an_older_period_can_be_chosen(client, access, camden_groups):
    html = client.get(URL, {"area": CAMDEN, "breakdown": "ethnicity", "period": "2026-01"}).content.decode()
    assert "By ethnic group, 2026-01" in html
    assert "-32.0 percentage points" in html


@pytest.mark.parametrize(
    "params",
    [{"area": "E09999999"}, {"breakdown": "sex"}, {"breakdown": "colour"}, {"period": "last year"}],
    ids=["unknown area", "breakdown not accepted", "unknown breakdown", "unreadable period"],
)
def test_unknown_choices_are_not_found(client, access, params):
    assert client.get(URL, params).status_code == 404


def test_an_unknown_indicator_is_not_found(client):
    assert client.get("/dashboards/indicators/nothing/inequalities/").status_code == 404


def test_an_indicator_without_breakdowns_says_so(client):
    indicator("plain", breakdowns=())
    html = client.get("/dashboards/indicators/plain/inequalities/").content.decode()
    assert "not broken down by population group" in html


def test_an_indicator_without_group_figures_says_so(client, access):
    html = client.get(URL, {"area": CAMDEN}).content.decode()
    assert "There are no approved figures by population group for this indicator in Camden yet." in html


def test_the_public_is_shown_approved_figures_when_asking_for_provisional(client, access, camden_groups):
    provisional = {"area": CAMDEN, "breakdown": "ethnicity", "basis": "provisional"}
    figure(access, camden_groups, MAR, "ethnicity", "asian", value="70", basis="provisional", also_provisional=False)
    html = client.get(URL, provisional).content.decode()
    assert "By ethnic group, 2026-02" in html  # March is provisional only


def test_a_partner_may_choose_provisional_figures(client_for, commissioner, access, camden_groups):
    figure(access, camden_groups, MAR, "ethnicity", "asian", value="70", basis="provisional", also_provisional=False)
    html = client_for(commissioner).get(URL, {"area": CAMDEN, "basis": "provisional"}).content.decode()
    assert "By ethnic group, 2026-03" in html
    assert "Provisional" in html


def _fill(ind, periods: int, groups: int) -> None:
    camden = area("CMD")
    codes = ["asian", "black", "mixed", "white", "other", "not-known"][:groups]
    start = dt.date(2020, 1, 1)
    for n in range(periods):
        period = dt.date(start.year + (start.month - 1 + n) // 12, (start.month - 1 + n) % 12 + 1, 1)
        figure(ind, camden, period, value="50")
        for index, code in enumerate(codes):
            figure(ind, camden, period, "ethnicity", code, value=str(40 + index))
        for index in range(min(groups, 5)):
            figure(ind, camden, period, "deprivation", f"q{index + 1}", value=str(40 + index))
        gap_row(ind, camden, period, groups_compared=groups, best_group=codes[-1], worst_group=codes[0])
        gap_row(ind, camden, period, Breakdown.DEPRIVATION, best_group="q5", worst_group="q1", sii=Decimal("5"))


@pytest.mark.parametrize(("periods", "groups"), [(2, 2), (30, 6)])
def test_the_page_runs_a_fixed_number_of_queries(client, access, django_assert_num_queries, periods, groups):
    _fill(access, periods, groups)
    # the indicator, the areas, the area's figures (every period and group), its gap measures
    # (anonymous: no session, user or membership queries)
    with django_assert_num_queries(4):
        assert client.get(URL, {"area": CAMDEN}).status_code == 200


# The download --------------------------------------------------------------------------


def test_the_csv_holds_what_the_page_shows_with_hidden_figures_starred(client, access, camden_groups):
    response = client.get(URL, {"area": CAMDEN, "breakdown": "ethnicity", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="inequalities-access-E09000007-2026-02-approved.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["row"], []).append(row)
    assert [r["group"] for r in by_kind["group"]] == ["asian", "black", "mixed", "white", "other", "not-known"]
    mixed = next(r for r in by_kind["group"] if r["group"] == "mixed")
    assert (mixed["value"], mixed["numerator"], mixed["lower95"]) == ("*", "*", "")
    black = next(r for r in by_kind["group"] if r["group"] == "black")
    assert (black["value"], black["numerator"], black["comparison"]) == ("48.0", "50", "Worse than all people")
    assert by_kind["all_people"][0]["value"] == "52.0"
    # A leading minus is quoted so a spreadsheet does not take the cell for a formula (kernel.downloads).
    assert [(r["period"], r["value"]) for r in by_kind["gap"]] == [("2026-01", "'-32.0"), ("2026-02", "'-10.0")]
    assert by_kind["ratio"][0]["value"] == "0.83"
    assert by_kind["gap_trend"][0]["comparison"] == "Narrowing"
    assert "66.7" not in response.content.decode()


def test_an_unknown_download_format_is_a_bad_request(client, access):
    assert client.get(URL, {"format": "xlsx"}).status_code == 400


# The API -------------------------------------------------------------------------------

API = "/api/v1/indicators/access/inequalities/"


def test_the_api_gives_groups_and_gap_measures_under_disclosure_control(client, access, camden_groups):
    response = client.get(API, {"area": CAMDEN, "breakdown": "ethnicity"})
    assert response.status_code == 200
    data = response.json()
    assert (data["area"], data["period"], data["basis"]) == (CAMDEN, "2026-02", "approved")
    (section,) = data["breakdowns"]
    groups = {g["group"]: g for g in section["groups"]}
    assert groups["mixed"]["suppressed"] and groups["mixed"]["value"] is None
    assert groups["mixed"]["numerator"] is None
    assert groups["black"]["comparison"] == "worse"
    assert groups["other"]["has_figure"] is False
    assert section["gap"]["gap"] == -10.0 and section["gap"]["best_group"] == "asian"
    assert [g["gap"] for g in section["gap_by_period"]] == [-32.0, -10.0]
    assert section["gap_trend"] == "narrowing"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"area": "E09999999"}, "area"),
        ({"breakdown": "sex"}, "breakdown"),
        ({"period": "2026-13"}, "period"),
        ({"basis": "guessed"}, "basis"),
        ({"suppressed": "false"}, "suppressed"),
    ],
)
def test_the_api_answers_a_bad_filter_with_a_problem(client, access, params, field):
    response = client.get(API, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_api_does_not_know_an_unknown_indicator(client):
    response = client.get("/api/v1/indicators/nothing/inequalities/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_api_keeps_provisional_figures_for_partners(client, client_for, commissioner, access, camden_groups):
    assert client.get(API, {"basis": "provisional"}).status_code == 403
    response = client_for(commissioner).get(API, {"basis": "provisional", "area": CAMDEN})
    assert response.status_code == 200
    assert response.json()["basis"] == "provisional"


def test_the_indicator_pages_link_to_the_inequalities_page(client, access):
    indicator("plain", breakdowns=())
    link = "/dashboards/indicators/access/inequalities/"
    assert (
        f'href="{link}?area={CAMDEN}"'
        in client.get("/dashboards/indicators/access/", {"area": CAMDEN}).content.decode()
    )
    assert f'href="{link}"' in client.get("/indicators/access/").content.decode()
    assert "inequalities/" not in client.get("/dashboards/indicators/plain/").content.decode()


def test_the_json_download_is_the_api_document(client, access, camden_groups):
    params = {"area": CAMDEN, "breakdown": "ethnicity"}
    download = client.get(URL, {**params, "format": "json"})
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download.json()["breakdowns"] == client.get(API, params).json()["breakdowns"]


def test_a_sub_region_can_be_chosen_and_deprivation_shows_the_slope_index_in_words(client, access):
    ncl = area("NCL")
    for period in (JAN, FEB):
        figure(access, ncl, period, value="50")
        figure(access, ncl, period, "deprivation", "q1", value="40", comparison="worse")
        figure(access, ncl, period, "deprivation", "q5", value="60", comparison="better")
        gap_row(
            access,
            ncl,
            period,
            Breakdown.DEPRIVATION,
            best_group="q5",
            worst_group="q1",
            sii=Decimal("-21.04"),
            sii_lower95=Decimal("-26.04"),
            sii_upper95=Decimal("-16.04"),
            rii=Decimal("0.65"),
        )
    html = client.get(URL, {"area": ncl.code, "breakdown": "deprivation"}).content.decode()
    assert f"Inequalities in {ncl.name}" in html
    assert "Slope index of inequality" in html
    assert "-21.0 percentage points (95% limits -26.0 percentage points to -16.0 percentage points)" in html
    assert "The estimated gap between the most and the least deprived people" in html
    assert "Relative index of inequality" in html and "the gap as a share of the average; 0 would mean no gap" in html
    assert "No clear change." in html


@pytest.mark.parametrize(("periods", "groups"), [(2, 2), (30, 6)])
def test_the_api_runs_a_fixed_number_of_queries(client, access, django_assert_num_queries, periods, groups):
    _fill(access, periods, groups)
    # the indicator, the areas, the area's figures (every period and group), its gap measures
    with django_assert_num_queries(4):
        assert client.get(API, {"area": CAMDEN}).status_code == 200


@pytest.mark.parametrize(("periods", "groups"), [(2, 2), (30, 6)])
def test_the_page_runs_a_fixed_number_of_queries_for_a_commissioner(
    client_for, commissioner, access, django_assert_num_queries, periods, groups
):
    _fill(access, periods, groups)
    client = client_for(commissioner)
    # session, user, the indicator, the areas, the area's figures, its gap measures, the user's
    # memberships (may they see provisional figures), the header's data links and unread
    # notifications, and saving the session (savepoint, update, release)
    with django_assert_num_queries(12):
        assert client.get(URL, {"area": CAMDEN, "basis": "provisional"}).status_code == 200
