"""GET /api/v1/metrics/: the public, disclosure-controlled metrics, filtered and paged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.throttling import AnonRateThrottle

from outcomes.models import Measure, Metric, PeriodType
from tests.api.helpers import assert_problem
from tests.factories import IndicatorFactory
from tests.outcomes.test_dashboards import MAY, _fill, make_metric, proportion

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/"


@pytest.fixture
def recovery():
    indicator = proportion()
    make_metric(indicator, "LDN", num=1237, den=2473, lower95=Decimal("48.05"), upper95=Decimal("51.99"))
    make_metric(indicator, "NCL", num=61, den=122, comparison="similar")
    make_metric(indicator, "CMD", num=58, den=103, lower95=Decimal("46.66"), upper95=Decimal("65.64"), quintile=1)
    make_metric(indicator, "ISL", num=3, den=12, suppressed=True, lower95=Decimal("8.9"), upper95=Decimal("53.2"))
    make_metric(indicator, "CMD", MAY, num=40, den=100)
    make_metric(indicator, "CMD", num=70, den=100, basis="provisional")
    return indicator


def _by_area(response) -> dict[str, dict]:
    return {(r["area_name"], r["period"]): r for r in response.json()["results"]}


def test_anyone_reads_metrics_paged_with_counts_rounded_and_small_ones_suppressed(client, recovery):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5  # approved only, by default
    rows = _by_area(response)
    islington = rows[("Islington", "2026-06")]
    assert islington["suppressed"] is True and islington["value"] is None
    assert islington["numerator"] is None and islington["denominator"] == 10
    assert islington["lower95"] is None and islington["comparison"] == "not_compared"
    london = rows[("London", "2026-06")]
    assert (london["numerator"], london["denominator"], london["value"]) == (1235, 2475, 50.0)
    assert london["lower95"] == 48.1 and london["provisional"] is False
    camden = rows[("Camden", "2026-06")]
    assert camden["value"] == 56.3 and camden["quintile"] == 1 and camden["area"] == "E09000007"
    assert "not_for_publication" not in camden


def test_a_commissioner_gets_the_same_public_figures_from_the_api(client_for, commissioner, recovery):
    # Unsuppressed figures are for the commissioner's dashboard only, never the API.
    islington = _by_area(client_for(commissioner).get(URL))[("Islington", "2026-06")]
    assert islington["value"] is None and islington["numerator"] is None


def test_metrics_filter_by_indicator_area_and_area_level(client, recovery):
    other = proportion("other", "Other")
    make_metric(other, "CMD", num=10, den=20)
    assert client.get(URL, {"indicator": "other"}).json()["count"] == 1
    camden = client.get(URL, {"area": "e09000007", "indicator": "recovery"}).json()["results"]
    assert [(r["area_name"], r["period"]) for r in camden] == [("Camden", "2026-05"), ("Camden", "2026-06")]
    levels = client.get(URL, {"area_level": "sub_region"}).json()["results"]
    assert [r["area_name"] for r in levels] == ["North Central London"]
    assert client.get(URL, {"area_level": "london"}).json()["results"][0]["area"] == "E12000007"


def test_metrics_filter_by_basis(client_for, provider, recovery):
    rows = client_for(provider).get(URL, {"basis": "provisional"}).json()["results"]
    assert [(r["area_name"], r["value"], r["provisional"]) for r in rows] == [("Camden", 70.0, True)]


def test_an_approved_row_that_is_also_the_provisional_one_is_listed_on_both_bases(client_for, provider, recovery):
    client = client_for(provider)
    make_metric(recovery, "HCK", num=30, den=60, also_provisional=True)
    approved = _by_area(client.get(URL, {"area_level": "borough", "period_from": "2026-06"}))
    provisional = client.get(URL, {"basis": "provisional"}).json()["results"]
    assert approved[("Hackney", "2026-06")]["basis"] == "approved"
    assert approved[("Hackney", "2026-06")]["provisional"] is False
    assert [(r["area_name"], r["value"], r["basis"], r["provisional"]) for r in provisional] == [
        ("Camden", 70.0, "provisional", True),
        ("Hackney", 50.0, "provisional", True),
    ]


@pytest.mark.parametrize(
    ("params", "periods"),
    [
        ({"period_from": "2026-06"}, {"2026-06"}),
        ({"period_to": "2026-05"}, {"2026-05"}),
        ({"period_from": "2026-05-01", "period_to": "2026-05-31"}, {"2026-05"}),
        ({"period_from": "2026-Q2"}, {"2026-05", "2026-06"}),
        ({"period_to": "2025"}, set()),
    ],
)
def test_metrics_filter_by_a_period_range_written_as_periods_or_dates(client, recovery, params, periods):
    rows = client.get(URL, {"area": "E09000007", **params}).json()["results"]
    assert {r["period"] for r in rows} == periods


def test_an_unreadable_period_or_level_is_a_400_problem(client, recovery):
    body = assert_problem(client.get(URL, {"period_from": "June"}), 400)
    assert body["errors"][0]["field"] == "period_from"
    assert_problem(client.get(URL, {"area_level": "planet"}), 400)


def test_an_indicator_code_that_names_no_indicator_is_a_400_problem(client, recovery):
    body = assert_problem(client.get(URL, {"indicator": "nonsense"}), 400)
    assert body["errors"][0]["field"] == "indicator"
    assert client.get(URL, {"indicator": "recovery"}).status_code == 200


@pytest.mark.parametrize("params", [{"suppressed": "true"}, {"indicatr": "recovery"}, {"area": "E09000007", "x": "1"}])
def test_a_parameter_the_list_does_not_take_is_a_400_problem_naming_it(client, recovery, params):
    body = assert_problem(client.get(URL, params), 400)
    unknown = next(name for name in params if name not in {"area"})
    assert [error["field"] for error in body["errors"]] == [unknown]
    assert "Not a filter of this list" in body["errors"][0]["message"]


def test_paging_ordering_and_format_parameters_are_still_taken(client, recovery):
    response = client.get(URL, {"page": 1, "page_size": 10, "ordering": "period_start", "format": "json"})
    assert response.status_code == 200


def test_a_count_indicator_publishes_its_rounded_count_without_limits(client):
    contacts = IndicatorFactory(
        code="contacts", name="Contacts", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    make_metric(contacts, "CMD", num=23, lower95=Decimal("14.6"), upper95=Decimal("34.5"))
    make_metric(contacts, "ISL", num=4, suppressed=True)
    rows = _by_area(client.get(URL, {"indicator": "contacts"}))
    assert rows[("Camden", "2026-06")]["value"] == 25 and rows[("Camden", "2026-06")]["lower95"] is None
    assert rows[("Islington", "2026-06")]["value"] is None and rows[("Islington", "2026-06")]["suppressed"]


def test_metrics_are_read_only(client_for, staff, recovery):
    assert client_for(staff).post(URL, {}).status_code == 405
    assert client_for().get(f"{URL}1/").status_code == 404


def test_anonymous_metric_reads_are_throttled(client, recovery, monkeypatch):
    # The configured rate is read at import; a lower one keeps the test short.
    monkeypatch.setattr(AnonRateThrottle, "rate", "2/minute", raising=False)
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    assert_problem(client.get(URL), 429)


@pytest.mark.parametrize(("boroughs", "periods"), [(3, 2), (33, 12)])
def test_the_metric_list_takes_two_queries_whatever_its_size(client, django_assert_num_queries, boroughs, periods):
    _fill(proportion(), boroughs, periods)
    # count, the page of metrics with indicator and area
    with django_assert_num_queries(2):
        response = client.get(URL, {"page_size": 500})
    assert response.json()["count"] == (1 + 5 + boroughs) * periods
    assert Metric.objects.count() == response.json()["count"]


# Population groups (issue 21) ---------------------------------------------------------------


@pytest.fixture
def groups(recovery):
    recovery.breakdowns = ["ethnicity", "age"]
    recovery.age_bands = ["18-24", "25-64", "65+"]
    recovery.save()
    make_metric(recovery, "LDN", num=300, den=1000, breakdown="ethnicity", population_group="black")
    make_metric(recovery, "LDN", num=600, den=1000, breakdown="ethnicity", population_group="white")
    make_metric(recovery, "CMD", num=3, den=40, breakdown="ethnicity", population_group="black", suppressed=True)
    make_metric(recovery, "LDN", num=200, den=500, breakdown="age", population_group="18-24")
    return recovery


def test_the_metric_list_is_the_headline_unless_a_breakdown_is_asked_for(client, groups):
    rows = client.get(URL).json()["results"]
    assert len(rows) == 5
    assert {(r["breakdown"], r["group"], r["group_label"]) for r in rows} == {("", "", "All people")}


def test_a_breakdown_without_a_group_lists_every_group_of_it(client, groups):
    rows = client.get(URL, {"breakdown": "ethnicity"}).json()["results"]
    assert sorted((r["area_name"], r["group"]) for r in rows) == [
        ("Camden", "black"),
        ("London", "black"),
        ("London", "white"),
    ]
    london = next(r for r in rows if r["group"] == "black" and r["area_name"] == "London")
    assert london["group_label"] == "Black, Black British, Black Welsh, Caribbean or African"
    assert london["value"] == 30.0 and london["numerator"] == 300


def test_a_groups_comparison_is_labelled_as_with_its_areas_all_people_figure_not_london(client, groups):
    Metric.with_groups.filter(population_group="white").update(comparison="much_better")
    rows = client.get(URL, {"breakdown": "ethnicity", "group": "white"}).json()["results"]
    assert [(r["comparison"], r["comparison_label"]) for r in rows] == [
        ("much_better", "Much better than all people in the area")
    ]


def test_a_group_filter_narrows_to_it_with_disclosure_control_as_for_the_headline(client, groups):
    rows = client.get(URL, {"breakdown": "ethnicity", "group": "black", "area": "E09000007"}).json()["results"]
    assert len(rows) == 1
    assert rows[0]["suppressed"] is True and rows[0]["value"] is None and rows[0]["numerator"] is None
    rows = client.get(URL, {"breakdown": "age", "group": "18-24", "indicator": "recovery"}).json()["results"]
    assert [(r["group"], r["group_label"], r["value"]) for r in rows] == [("18-24", "18 to 24", 40.0)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"breakdown": "religion"}, "breakdown"),
        ({"breakdown": "ethnicity", "group": "martian"}, "group"),
        ({"group": "black"}, "group"),
        ({"breakdown": "age", "group": "old"}, "group"),
        ({"breakdown": "age", "group": "30-39", "indicator": "recovery"}, "group"),
        ({"area": "E09999999"}, "area"),
        ({"basis": "guessed"}, "basis"),
    ],
)
def test_an_unknown_breakdown_group_area_or_basis_is_a_400_problem(client, groups, params, field):
    body = assert_problem(client.get(URL, params), 400)
    assert [error["field"] for error in body["errors"]] == [field]
    assert all(error["code"] in ("invalid", "invalid_choice") for error in body["errors"]), body["errors"]
