"""Population groups at every door but the CSV file (issue 21): the catalogue declares an
indicator's breakdowns and age bands (form and API), the web form takes a value for one group,
the JSON API takes and returns groups and filters by them, and the values list and review queue
show them. The file door is tested in test_ingest_groups.py.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine

from outcomes import services
from outcomes.breakdowns import Breakdown
from outcomes.models import Door, Indicator, IndicatorEvent, Measure, OutcomeValue, PeriodType, ValueStatus
from tests.factories import IndicatorFactory
from tests.outcomes.test_api import assert_problem, catalogue_manager, post_json  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

CAMDEN = "E09000007"
NOW = dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)


@pytest.fixture
def detentions(db):
    return IndicatorFactory(
        code="test-detentions",
        name="Detentions (test)",
        definition="Detentions under the Mental Health Act.",
        measure=Measure.COUNT,
        period_type=PeriodType.MONTH,
        breakdowns=[Breakdown.ETHNICITY, Breakdown.AGE],
        age_bands=["0-17", "18-64", "65+"],
    )


def _form(**extra):
    return {
        "code": "test-access",
        "name": "Access (test)",
        "definition": "People seen.",
        "measure": Measure.COUNT,
        "polarity": "higher",
        "period_type": PeriodType.MONTH,
        "is_active": "on",
        **extra,
    }


# The catalogue ------------------------------------------------------------------------------


def test_a_catalogue_manager_declares_breakdowns_and_age_bands_and_history_records_it(client_for, staff):
    client = client_for(staff)
    page = client.get("/indicators/new/").text
    assert 'name="breakdowns"' in page and 'value="deprivation"' in page and 'name="age_bands"' in page

    response = client.post("/indicators/new/", _form(breakdowns=["age", "sex"], age_bands="0-17, 18-64,65+"))

    assert response.status_code == 302, response.text
    indicator = Indicator.objects.get(code="test-access")
    assert (indicator.breakdowns, indicator.age_bands) == (["age", "sex"], ["0-17", "18-64", "65+"])
    detail = client.get("/indicators/test-access/").text
    assert "Population groups" in detail and "18 to 64" in detail and "<code>65+</code>" in detail
    assert "Female" in detail

    client.post("/indicators/test-access/edit/", _form(breakdowns=["sex"], age_bands=""))
    indicator.refresh_from_db()
    assert indicator.breakdowns == ["sex"]
    assert [e.breakdowns for e in IndicatorEvent.objects.filter(pgh_obj=indicator).order_by("pgh_id")] == [
        ["age", "sex"],
        ["sex"],
    ]
    assert "accepts no breakdowns" not in client.get("/indicators/test-access/").text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"breakdowns": ["age"]}, "Enter the age bands"),
        ({"breakdowns": ["age"], "age_bands": "65+, 18-24"}, "must be the last band"),
        ({"breakdowns": ["age"], "age_bands": "18-24, 20-30"}, "overlaps"),
        ({"breakdowns": ["age"], "age_bands": "young"}, "is not an age band"),
        ({"age_bands": "0-17, 18+"}, "Select age band under population groups"),
        ({"breakdowns": ["religion"]}, "Select a valid choice"),
    ],
)
def test_the_catalogue_form_checks_breakdowns_and_age_bands(client_for, staff, extra, message):
    response = client_for(staff).post("/indicators/new/", _form(**extra))

    assert response.status_code == 200
    assert "There is a problem" in response.text and message in response.text
    assert 'value="' + extra.get("age_bands", "\x00") + '"' in response.text or "age_bands" not in extra
    assert not Indicator.objects.filter(code="test-access").exists()


def test_the_indicator_api_takes_breakdowns_and_checks_age_bands(client_for, catalogue_manager, detentions):  # noqa: F811
    client = client_for(catalogue_manager)
    url = "/api/v1/indicators/test-detentions/"
    assert client.get(url).json()["breakdowns"] == ["ethnicity", "age"]

    body = assert_problem(client.patch(url, {"age_bands": []}, content_type="application/json"), 400)
    assert body["errors"][0]["field"] == "age_bands"
    body = assert_problem(client.patch(url, {"age_bands": ["65+", "0-17"]}, content_type="application/json"), 400)
    assert "last band" in json.dumps(body)
    assert_problem(client.patch(url, {"breakdowns": ["religion"]}, content_type="application/json"), 400)

    response = client.patch(url, {"breakdowns": ["deprivation"], "age_bands": []}, content_type="application/json")
    assert response.status_code == 200, response.content
    detentions.refresh_from_db()
    assert (detentions.breakdowns, detentions.age_bands) == (["deprivation"], [])


def test_only_catalogue_managers_change_breakdowns(client_for, provider, detentions):
    response = client_for(provider).patch(
        "/api/v1/indicators/test-detentions/", {"breakdowns": []}, content_type="application/json"
    )
    assert_problem(response, 403)
    assert client_for(provider).get("/indicators/test-detentions/edit/").status_code == 403


# The web form ----------------------------------------------------------------------------------


@time_machine.travel(NOW)
def test_the_web_form_takes_values_for_one_group(client_for, provider, detentions):
    client = client_for(provider)
    base = "/data/form/?indicator=test-detentions&period=2026-04"
    page = client.get(base).text
    assert 'name="group"' in page and 'value="ethnicity:black"' in page and 'value="age:65+"' in page

    grid = f"{base}&group=ethnicity%3Ablack"
    page = client.get(grid).text
    assert "Ethnic group: Black, Black British" in page
    response = client.post(grid, {"num_CMD": "12"})

    assert response.status_code == 302
    value = OutcomeValue.objects.get()
    assert (value.breakdown, value.population_group, value.numerator) == ("ethnicity", "black", Decimal(12))
    # The grid for that group shows it; the all-people grid does not.
    assert 'value="12"' in client.get(grid).text
    assert 'value="12"' not in client.get(base).text
    assert "Ethnic group: Black" in client.get(response.url).text  # the report names the group


@time_machine.travel(NOW)
def test_the_web_form_refuses_a_group_the_indicator_does_not_accept(client_for, provider, detentions):
    response = client_for(provider).get("/data/form/?indicator=test-detentions&period=2026-04&group=sex%3Afemale")

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Choose all people or a population group that Detentions (test) accepts" in response.text


# The JSON API ---------------------------------------------------------------------------------


@time_machine.travel(NOW)
def test_the_api_takes_group_values_returns_them_and_filters_by_them(client_for, provider, detentions):
    client = client_for(provider)
    rows = [
        {"indicator_code": "test-detentions", "borough_code": CAMDEN, "period": "2026-04", "numerator": 20},
        {
            "indicator_code": "test-detentions",
            "borough_code": CAMDEN,
            "period": "2026-04",
            "numerator": 8,
            "breakdown": "ethnicity",
            "group": "black",
        },
        {
            "indicator_code": "test-detentions",
            "borough_code": CAMDEN,
            "period": "2026-04",
            "numerator": 3,
            "breakdown": "age",
            "group": "65+",
        },
        {
            "indicator_code": "test-detentions",
            "borough_code": CAMDEN,
            "period": "2026-04",
            "numerator": 3,
            "breakdown": "ethnicity",
            "group": "green",
        },
    ]
    response = post_json(client, rows)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created_count"], body["rejected_count"]) == (3, 1)
    assert [(i["row_number"], i["column"], i["code"]) for i in body["issues"]] == [(4, "group", "unknown_group")]

    listed = client.get("/api/v1/outcome-values/", {"breakdown": "ethnicity", "group": "black"}).json()["results"]
    assert [(v["breakdown"], v["group"], v["group_label"], v["numerator"]) for v in listed] == [
        ("ethnicity", "black", "Ethnic group: Black, Black British, Black Welsh, Caribbean or African", "8")
    ]
    ages = client.get("/api/v1/outcome-values/", {"breakdown": "age"}).json()["results"]
    assert [v["group"] for v in ages] == ["65+"]
    headline = client.get("/api/v1/outcome-values/", {"breakdown": "none"}).json()["results"]
    assert [(v["group_label"], v["numerator"]) for v in headline] == [("All people", "20")]
    assert len(client.get("/api/v1/outcome-values/").json()["results"]) == 3


@pytest.mark.parametrize(
    "query",
    [
        {"breakdown": "religion"},
        {"group": "black"},
        {"breakdown": "ethnicity", "group": "purple"},
        {"breakdown": "age", "group": "old"},
        {"breakdown": "none", "group": "q1"},
    ],
)
def test_unknown_breakdown_or_group_filters_are_a_400_problem(client_for, provider, query):
    body = assert_problem(client_for(provider).get("/api/v1/outcome-values/", query), 400)
    assert body["errors"][0]["field"] in ("breakdown", "group")


# Values list and review ---------------------------------------------------------------------


@time_machine.travel(NOW)
def test_the_values_list_and_review_queue_show_the_group_and_review_works_for_it(
    client_for, provider, provider_org, commissioner, detentions
):
    services.submission_create(
        actor=provider,
        organisation=provider_org,
        door=Door.API,
        rows=[
            {"indicator_code": "test-detentions", "borough_code": CAMDEN, "period": "2026-04", "numerator": 9},
            {
                "indicator_code": "test-detentions",
                "borough_code": CAMDEN,
                "period": "2026-04",
                "numerator": 4,
                "breakdown": "ethnicity",
                "group": "white",
            },
        ],
    )
    values = client_for(provider).get("/data/values/").text
    assert "All people" in values and "Ethnic group: White" in values

    reviewer = client_for(commissioner)
    queue = reviewer.get("/data/review/").text
    assert "Ethnic group: White" in queue and "All people" in queue
    group_value = OutcomeValue.objects.get(breakdown="ethnicity")
    response = reviewer.post("/data/review/", {"values": [group_value.pk], "action": "approve"})

    assert response.status_code == 302
    group_value.refresh_from_db()
    assert group_value.status == ValueStatus.APPROVED
    assert OutcomeValue.objects.get(breakdown="").status == ValueStatus.SUBMITTED


# Populations by group -----------------------------------------------------------------------


def test_populations_upload_takes_groups_and_the_page_lists_them(client_for, staff):
    import io

    from outcomes.models import Population

    text = (
        "area_code,year,population,breakdown,group\n"
        f"{CAMDEN},2021,210000,,\n"
        f"{CAMDEN},2021,20000,ethnicity,black\n"
        f"{CAMDEN},2021,120000,Ethnicity,White\n"
        f"{CAMDEN},2021,9000,age,65+\n"
    )
    assert services.populations_import_csv(actor=staff, stream=io.BytesIO(text.encode())) == 4
    assert set(Population.objects.values_list("breakdown", "population_group", "population")) >= {
        ("", "", 210000),
        ("ethnicity", "black", 20000),
        ("ethnicity", "white", 120000),
        ("age", "65+", 9000),
    }
    page = client_for(staff).get("/data/populations/").text
    assert "Populations by ethnic group, 2021" in page and "20,000" in page and "Populations by age band" in page


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"{CAMDEN},2021,100,religion,x", "is not a breakdown"),
        (f"{CAMDEN},2021,100,ethnicity,green", "is not a ethnicity group"),
        (f"{CAMDEN},2021,100,ethnicity,not-known", "is not a ethnicity group"),
        (f"{CAMDEN},2021,100,age,old", "is not an age band"),
        (f"{CAMDEN},2021,100,,black", "has no breakdown"),
        (f"{CAMDEN},2021,100,sex,", "has no group"),
    ],
)
def test_populations_upload_refuses_unknown_groups_by_row(staff, row, message):
    import io

    from django.core.exceptions import ValidationError

    from outcomes.models import Population

    text = f"area_code,year,population,breakdown,group\n{CAMDEN},2021,5,,\n{row}\n"
    with pytest.raises(ValidationError) as refused:
        services.populations_import_csv(actor=staff, stream=io.BytesIO(text.encode()))
    assert any(m.startswith("Row 3:") and message in m for m in refused.value.messages), refused.value.messages
    assert not Population.objects.filter(year=2021, population=5).exists()  # all or nothing
