"""The public dashboards: disclosure control, downloads, commissioners' own boroughs, query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from kernel import downloads
from outcomes import dashboards
from outcomes.models import Indicator, Measure, Metric, PeriodType, Polarity
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db

MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


def area(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code)


def proportion(code: str = "recovery", name: str = "Recovery rate") -> Indicator:
    return IndicatorFactory(
        code=code,
        name=name,
        definition="Share who recovered.",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )


def make_metric(indicator, where, period=JUNE, *, num, den=None, basis="approved", **fields) -> Metric:
    where = where if isinstance(where, Area) else area(where)
    value = fields.pop("value", None)
    if value is None and indicator.measure == Measure.PROPORTION and den:
        value = Decimal(100 * num) / den
    elif value is None and indicator.measure == Measure.COUNT:
        value = num
    return Metric.objects.create(
        indicator=indicator,
        area=where,
        period_start=period,
        basis=basis,
        numerator=num,
        denominator=den,
        value=value,
        computed_at=fields.pop("computed_at", timezone.now()),
        **fields,
    )


@pytest.fixture
def recovery():
    return proportion()


@pytest.fixture
def cell(recovery):
    """June: London, North Central London, Camden (published), Islington (3 of 12: suppressed)."""
    make_metric(recovery, "LDN", num=1237, den=2473, lower95=Decimal("48.05"), upper95=Decimal("51.99"))
    make_metric(recovery, "NCL", num=61, den=122, comparison="similar")
    make_metric(
        recovery,
        "CMD",
        num=58,
        den=103,
        lower95=Decimal("46.66"),
        upper95=Decimal("65.64"),
        comparison="better",
        quintile=1,
    )
    make_metric(recovery, "ISL", num=3, den=12, suppressed=True, lower95=Decimal("8.9"), upper95=Decimal("53.2"))
    return recovery


# The presentation function ---------------------------------------------------------------


def test_a_small_count_is_a_star_and_hides_the_value_limits_and_comparison(cell):
    islington = Metric.objects.select_related("indicator", "area").get(area__short_code="ISL")
    row = dashboards.public_metric(islington)
    assert row.numerator is None and row.numerator_text == "*"
    assert row.denominator == 10 and row.denominator_text == "10"  # 12 rounds to 10
    assert row.value is None and row.value_text == "*"
    assert (row.lower95, row.upper95, row.lower998, row.upper998) == (None, None, None, None)
    assert row.suppressed and row.comparison == "not_compared" and row.quintile is None
    assert not row.not_for_publication


def test_counts_are_rounded_to_the_nearest_5_london_included(cell):
    london = Metric.objects.select_related("indicator", "area").get(area__short_code="LDN")
    row = dashboards.public_metric(london)
    assert (row.numerator, row.denominator) == (1235, 2475)
    # The percentage comes from the unrounded figures, to one place.
    assert row.value == Decimal("50.0") and row.value_text == "50.0%"
    assert row.limits_text == "48.1% to 52.0%"


def test_a_count_indicators_value_is_rounded_and_its_limits_are_not_published():
    contacts = IndicatorFactory(
        code="contacts", name="Contacts", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    metric = make_metric(contacts, "CMD", num=23, lower95=Decimal("14.6"), upper95=Decimal("34.5"))
    row = dashboards.public_metric(Metric.objects.select_related("indicator", "area").get(pk=metric.pk))
    assert row.value == 25 and row.numerator == 25
    assert row.lower95 is None and row.limits_text == ""
    assert not row.suppressed


def test_an_unsuppressed_row_is_exact_and_flagged_not_for_publication(cell):
    islington = Metric.objects.select_related("indicator", "area").get(area__short_code="ISL")
    row = dashboards.public_metric(islington, exact=True)
    assert (row.numerator, row.denominator) == (3, 12)
    assert row.value == Decimal("25.0") and row.lower95 == Decimal("8.9")
    assert row.not_for_publication and not row.suppressed


def test_only_boroughs_are_ever_unsuppressed(cell):
    london = Metric.objects.select_related("indicator", "area").get(area__short_code="LDN")
    row = dashboards.public_metric(london, exact=True)
    assert row.numerator == 1235 and not row.not_for_publication


def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe():
    assert [downloads.csv_cell(v) for v in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "plain", None, True]] == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2",
        "'@cmd",
        "'\tx",
        "plain",
        "",
        "yes",
    ]


def test_sorting_puts_hidden_values_last_both_ways(cell):
    rows = dashboards.public_metrics(
        Metric.objects.select_related("indicator", "area").filter(area__level=AreaLevel.BOROUGH)
    )
    assert [r.area_short_code for r in dashboards.sort_rows(rows, "value")] == ["CMD", "ISL"]
    assert [r.area_short_code for r in dashboards.sort_rows(rows, "-value")] == ["CMD", "ISL"]
    assert [r.area_short_code for r in dashboards.sort_rows(rows, "-area")] == ["ISL", "CMD"]
    assert [r.area_short_code for r in dashboards.sort_rows(rows, "nonsense")] == ["CMD", "ISL"]


# The overview page -----------------------------------------------------------------------


def test_the_overview_shows_the_first_indicator_in_its_latest_period_by_default(client, cell):
    make_metric(cell, "LDN", MAY, num=10, den=20)
    proportion("zz-later", "Zz later indicator")  # active, but not first by name
    response = client.get("/dashboards/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Recovery rate, 2026-06" in html
    assert "Approved figures only." in html
    assert 'href="/dashboards/areas/E09000007/"' in html  # Camden's tile links to its profile


def test_a_suppressed_borough_is_a_star_on_the_map_and_in_the_table(client, cell):
    html = client.get("/dashboards/").content.decode()
    tile = html[html.index("lmh-row-1", html.index("lmh-tiles")) :]
    assert "lmh-tile--suppressed" in html
    assert "Islington: suppressed (small numbers)" in html
    assert "25.0%" not in html  # Islington's unsuppressed 3 of 12
    assert tile  # the map was drawn
    islington_row = html[html.index(">Islington</a>") : html.index("</tr>", html.index(">Islington</a>"))]
    assert ">*<" in islington_row and ">10<" in islington_row


def test_the_overview_rounds_every_count_to_the_nearest_5(client, cell):
    html = client.get("/dashboards/").content.decode()
    assert "1,235" in html and "2,475" in html  # London
    assert "1,237" not in html and "2,473" not in html
    camden_row = html[html.index(">Camden</a>") : html.index("</tr>", html.index(">Camden</a>"))]
    assert ">60<" in camden_row and ">105<" in camden_row  # 58 of 103
    assert "56.3%" in camden_row  # from the unrounded figures


def test_the_borough_table_sorts_on_the_server(client, cell):
    make_metric(cell, "HCK", num=20, den=100, comparison="worse", quintile=5)
    html = client.get("/dashboards/", {"sort": "-value"}).content.decode()
    table = html[html.index('id="boroughs"') :]
    assert table.index(">Camden<") < table.index(">Hackney<") < table.index(">Islington<")
    assert 'aria-sort="descending"' in table
    html = client.get("/dashboards/", {"sort": "value"}).content.decode()
    table = html[html.index('id="boroughs"') :]
    assert table.index(">Hackney<") < table.index(">Camden<") < table.index(">Islington<")


def test_the_provisional_switch_shows_provisional_figures_marked_as_such(client_for, provider, cell):
    make_metric(cell, "LDN", num=1300, den=2500, basis="provisional")
    html = client_for(provider).get("/dashboards/", {"basis": "provisional"}).content.decode()
    assert "Provisional" in html and "52.0%" in html and "1,300" in html


def test_the_provisional_switch_reads_an_approved_row_that_is_also_the_provisional_one(client_for, provider, cell):
    client = client_for(provider)
    Metric.objects.filter(indicator=cell).update(also_provisional=True)
    html = client.get("/dashboards/", {"basis": "provisional"}).content.decode()
    assert "Provisional" in html and "There are no figures" not in html
    csv = client.get("/dashboards/", {"basis": "provisional", "format": "csv"}).content.decode()
    assert ",provisional," in csv and ",approved," not in csv


def test_a_period_without_figures_falls_back_to_the_latest(client, cell):
    html = client.get("/dashboards/", {"indicator": "recovery", "period": "2020-01"}).content.decode()
    assert "There are no figures for 2020-01" in html and "Recovery rate, 2026-06" in html


def test_an_unknown_indicator_on_the_overview_is_a_404(client, cell):
    assert client.get("/dashboards/", {"indicator": "nope"}).status_code == 404


def test_the_overview_says_so_when_nothing_is_computed_yet(client, recovery):
    html = client.get("/dashboards/").content.decode()
    assert "There are no approved figures for this indicator yet." in html


def test_commissioners_see_their_own_boroughs_unsuppressed_marked_not_for_publication(client_for, commissioner, cell):
    # The commissioner's ICB commissions Camden and Islington.
    response = client_for(commissioner).get("/dashboards/")
    html = response.content.decode()
    islington_row = html[html.index(">Islington</a>") : html.index("</tr>", html.index(">Islington</a>"))]
    assert "25.0%" in islington_row and ">3<" in islington_row and ">12<" in islington_row
    assert "Not for publication" in islington_row
    assert "not for publication" in html.lower() and "Do not share them" in html
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    # London stays rounded for them too.
    assert "1,235" in html and "1,237" not in html


@pytest.mark.parametrize("who", ["anonymous", "outsider", "provider"])
def test_everyone_else_sees_the_suppressed_figures(client_for, request, cell, who):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    html = client_for(user).get("/dashboards/").content.decode()
    islington_row = html[html.index(">Islington</a>") : html.index("</tr>", html.index(">Islington</a>"))]
    assert "25.0%" not in islington_row and ">*<" in islington_row
    assert "Not for publication" not in html


# Downloads -------------------------------------------------------------------------------


def test_the_csv_download_has_exactly_the_shown_figures_with_formulas_neutralised(client):
    indicator = proportion("formula", '=HYPERLINK("http://evil")')
    make_metric(indicator, "LDN", num=1237, den=2473)
    make_metric(indicator, "ISL", num=3, den=12, suppressed=True)
    response = client.get("/dashboards/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="london-formula-2026-06-approved.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["area_name"] for r in rows] == ["London", "Islington"]
    assert all(r["indicator_name"] == '\'=HYPERLINK("http://evil")' for r in rows)
    london, islington = rows
    assert (london["numerator"], london["denominator"], london["value"]) == ("1235", "2475", "50.0")
    assert (islington["numerator"], islington["denominator"], islington["value"]) == ("*", "10", "*")
    assert islington["lower95"] == "" and islington["not_for_publication"] == "no"


def test_the_json_download_has_nulls_for_hidden_figures(client, cell):
    response = client.get("/dashboards/", {"format": "json"})
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert document["indicator"] == "recovery" and document["period"] == "2026-06"
    assert document["provisional"] is False and document["not_for_publication"] is False
    by_area = {r["area_name"]: r for r in document["rows"]}
    assert list(by_area) == ["London", "North Central London", "Camden", "Islington"]
    assert by_area["Islington"]["value"] is None and by_area["Islington"]["suppressed"] is True
    assert by_area["Islington"]["numerator"] is None and by_area["Islington"]["denominator"] == 10
    assert by_area["Camden"]["value"] == 56.3 and by_area["Camden"]["numerator"] == 60


def test_a_commissioners_download_carries_the_not_for_publication_flag(client_for, commissioner, cell):
    response = client_for(commissioner).get("/dashboards/", {"format": "json"})
    document = json.loads(response.content)
    assert document["not_for_publication"] is True
    islington = next(r for r in document["rows"] if r["area_name"] == "Islington")
    assert islington["not_for_publication"] is True and islington["numerator"] == 3
    assert "no-store" in response["Cache-Control"]


def test_the_profile_downloads_as_csv_and_json(client, cell):
    response = client.get("/dashboards/areas/E09000007/", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["indicator"] == "recovery" and rows[0]["value"] == "56.3" and rows[0]["london_value"] == "50.0"
    document = json.loads(client.get("/dashboards/areas/E09000007/", {"format": "json"}).content)
    assert document["rows"][0]["borough_range_low"] == 56.3  # Islington is suppressed: not in the range


# Indicator and profile pages ------------------------------------------------------------------


def test_the_indicator_page_draws_london_and_a_chosen_area_from_a_json_block(client, cell):
    make_metric(cell, "LDN", MAY, num=10, den=20)
    response = client.get("/dashboards/indicators/recovery/", {"area": "E09000007"})
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<script id="dashboard-chart-data" type="application/json">') + len(
        '<script id="dashboard-chart-data" type="application/json">'
    )
    chart = json.loads(html[start : html.index("</script>", start)])
    assert chart["labels"] == ["2026-05", "2026-06"]
    assert [s["name"] for s in chart["series"]] == ["London", "Camden"]
    assert chart["series"][0]["value"] == [50.0, 50.0]
    assert chart["series"][1]["value"] == [None, 56.3] and chart["series"][1]["lower"] == [None, 46.7]
    assert "js/dashboard-chart" in html and "vendor/chart.js/chart.umd.min" in html
    assert "Camden 95% limits" in html  # the table alternative


def test_the_indicator_page_downloads_its_trend_as_csv_and_json_not_html(client, cell):
    make_metric(cell, "LDN", MAY, num=10, den=20)
    response = client.get("/dashboards/indicators/recovery/", {"area": "E09000007", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="trend-recovery-E09000007-approved.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["period"], r["area_name"], r["value"]) for r in rows] == [
        ("2026-05", "London", "50.0"),
        ("2026-06", "London", "50.0"),
        ("2026-06", "Camden", "56.3"),
    ]
    document = json.loads(client.get("/dashboards/indicators/recovery/", {"format": "json"}).content)
    assert document["indicator"] == "recovery" and document["area"] is None
    assert [(r["period"], r["area_name"]) for r in document["rows"]] == [("2026-05", "London"), ("2026-06", "London")]
    html = client.get("/dashboards/indicators/recovery/").content.decode()
    assert "format=csv" in html and "format=json" in html  # the page offers both


@pytest.mark.parametrize("path", ["/dashboards/indicators/recovery/", "/dashboards/", "/dashboards/areas/E09000007/"])
def test_a_format_the_dashboards_do_not_download_is_a_400(client, cell, path):
    assert client.get(path, {"format": "xlsx"}).status_code == 400


def test_the_indicator_page_hides_a_suppressed_areas_figures(client, cell):
    html = client.get("/dashboards/indicators/recovery/", {"area": "E09000019"}).content.decode()
    assert "25.0" not in html and '"value": [null]' in html


@pytest.mark.parametrize("path", ["/dashboards/indicators/nope/", "/dashboards/indicators/recovery/?area=E00000000"])
def test_an_unknown_indicator_or_area_on_the_indicator_page_is_a_404(client, cell, path):
    assert client.get(path).status_code == 404


def test_the_profile_shows_every_indicator_against_london_with_the_borough_range(client, cell):
    make_metric(cell, "HCK", num=20, den=100, comparison="worse", quintile=5)
    proportion("empty", "An indicator with no figures")
    html = client.get("/dashboards/areas/E09000007/").content.decode()
    row = html[html.index(">Recovery rate</a>") : html.index("</tr>", html.index(">Recovery rate</a>"))]
    assert "56.3%" in row and "50.0%" in row and "20.0% to 56.3%" in row and "Better than London" in row
    assert "An indicator with no figures" in html and "No figures yet" in html


def test_an_ics_sub_region_has_a_profile_too(client, cell):
    html = client.get("/dashboards/areas/E54000028/").content.decode()
    assert "North Central London" in html and "Similar to London" in html


@pytest.mark.parametrize("code", ["E12000007", "E00000000"])
def test_london_itself_or_an_unknown_area_has_no_profile(client, cell, code):
    assert client.get(f"/dashboards/areas/{code}/").status_code == 404


# Query counts --------------------------------------------------------------------------


def _fill(indicator, boroughs: int, periods: int) -> None:
    starts = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(periods)]
    areas = [area("LDN"), *Area.objects.sub_regions(), *Area.objects.boroughs().order_by("name")[:boroughs]]
    now = timezone.now()
    Metric.objects.bulk_create(
        Metric(
            indicator=indicator,
            area=a,
            period_start=start,
            basis="approved",
            numerator=40 + n,
            denominator=100,
            value=Decimal(40 + n),
            comparison="similar",
            computed_at=now,
        )
        for start in starts
        for n, a in enumerate(areas)
    )


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_overview_runs_a_fixed_number_of_queries(client, recovery, django_assert_num_queries, boroughs, periods):
    _fill(recovery, boroughs, periods)
    proportion("second", "Second indicator")
    # indicators, their priority areas (one join), London's series (periods and trend), the
    # cell's metrics, the tile boroughs (anonymous: no session, user, header or
    # commissioned-borough queries)
    with django_assert_num_queries(5):
        assert client.get("/dashboards/", {"sort": "-value"}).status_code == 200


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_overview_runs_a_fixed_number_of_queries_for_a_commissioner(
    client_for, commissioner, recovery, django_assert_num_queries, boroughs, periods
):
    _fill(recovery, boroughs, periods)
    client = client_for(commissioner)
    # session, user, indicators, their priority areas, London's series, the cell's metrics,
    # commissioned boroughs, the user's memberships (may they see provisional figures:
    # outcomes.permissions), the tile boroughs, the header's data links, the header's
    # unread-notification count, and saving the session (savepoint, update, release:
    # SESSION_SAVE_EVERY_REQUEST)
    with django_assert_num_queries(14):
        assert client.get("/dashboards/").status_code == 200


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_indicator_page_runs_a_fixed_number_of_queries(
    client, recovery, django_assert_num_queries, boroughs, periods
):
    _fill(recovery, boroughs, periods)
    # the indicator, the area choices, London's and Camden's metrics
    with django_assert_num_queries(3):
        assert client.get("/dashboards/indicators/recovery/", {"area": "E09000007"}).status_code == 200


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 30)])
def test_the_profile_runs_a_fixed_number_of_queries(client, recovery, django_assert_num_queries, boroughs, periods):
    _fill(recovery, boroughs, periods)
    _fill(proportion("second", "Second indicator"), boroughs, periods)
    # the area, the indicators, each indicator's latest period, the area's and London's
    # metrics, the borough ranges
    with django_assert_num_queries(5):
        assert client.get("/dashboards/areas/E09000002/").status_code == 200


def test_the_indicator_page_leads_with_londons_latest_figure(client, cell):
    make_metric(cell, "LDN", MAY, num=1000, den=2500)
    html = client.get("/dashboards/indicators/recovery/").content.decode()
    card = html[html.index('class="nhsuk-card"') : html.index('id="chart-heading"')]
    assert "London, " in card and "50.0%" in card and "48.1% to 52.0%" in card
    assert "40.0%" not in card  # May is older
