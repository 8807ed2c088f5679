"""The outcomes REST API: catalogue, populations, outcome values and their review, submissions."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from outcomes.models import (
    Door,
    Indicator,
    Measure,
    OutcomeValue,
    PeriodType,
    Population,
    Submission,
    SubmissionIssue,
    ValueStatus,
)
from stakeholders.models import Area, AreaLevel, OrganisationType, Role
from tests.factories import (
    CAMDEN,
    LAMBETH,
    IndicatorFactory,
    MembershipFactory,
    OrganisationFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CSV_HEADER = "indicator_code,borough_code,period,numerator,denominator,note\n"


# Fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def contacts(db):
    return IndicatorFactory(
        code="test-contacts",
        name="People in contact (test)",
        definition="People in contact with services.",
        measure=Measure.COUNT,
        period_type=PeriodType.MONTH,
    )


@pytest.fixture
def wellbeing(db):
    return IndicatorFactory(
        code="test-wellbeing",
        name="Wellbeing score (test)",
        definition="Mean wellbeing score.",
        measure=Measure.MEAN,
        period_type=PeriodType.QUARTER,
    )


@pytest.fixture
def second_camden_provider(db):
    """Another provider serving Camden, with its own data submitter."""
    org = OrganisationFactory(name="Second Trust (test)", type=OrganisationType.NHS_MH_PROVIDER, boroughs=["CMD"])
    MembershipFactory(organisation=org, role=Role.DATA_SUBMITTER)
    return org


@pytest.fixture
def catalogue_manager(db):
    user = UserFactory(display_name="Cat Manager")
    user.user_permissions.add(Permission.objects.get(codename="manage_catalogue"))
    return user


def borough(code: str) -> Area:
    return Area.objects.get(code=code, level=AreaLevel.BOROUGH)


def month(index: int) -> dt.date:
    """Months of 2025 (all ended): month(0) is 2025-01."""
    return dt.date(2025, 1 + index % 12, 1) if index < 12 else dt.date(2024, 1 + index % 12, 1)


def make_values(organisation, indicator, borough_code: str, count: int, status: str = ValueStatus.SUBMITTED):
    """`count` stored values for one organisation, indicator and borough, one a month."""
    submitter = UserFactory()
    submission = SubmissionFactory(
        organisation=organisation, submitted_by=submitter, door=Door.FORM, status=Submission.Status.COMPLETED
    )
    area = borough(borough_code)
    return OutcomeValue.objects.bulk_create(
        OutcomeValue(
            organisation=organisation,
            indicator=indicator,
            borough=area,
            period_start=month(i),
            numerator=10 + i,
            denominator=100,
            status=status,
            submission=submission,
            submitted_at=timezone.now(),
        )
        for i in range(count)
    )


def make_submissions(organisation, user, count: int) -> list[Submission]:
    return [
        SubmissionFactory(
            organisation=organisation,
            submitted_by=user,
            door=Door.CSV,
            status=Submission.Status.COMPLETED,
            total_rows=3,
            processed_rows=3,
            created_count=3,
        )
        for _ in range(count)
    ]


def csv_rows(indicator_code: str, rows: list[tuple[str, str, str, str]]) -> bytes:
    body = CSV_HEADER + "".join(f"{indicator_code},{b},{p},{n},{d},\n" for b, p, n, d in rows)
    return body.encode()


def row(indicator_code: str, period: str, **cells) -> dict:
    return {"indicator_code": indicator_code, "borough_code": CAMDEN, "period": period, **cells}


def post_csv(client, body: bytes, query: str = ""):
    return client.post(f"/api/v1/submissions/{query}", data=body, content_type="text/csv")


def post_json(client, payload, query: str = ""):
    return client.post(f"/api/v1/submissions/{query}", data=json.dumps(payload), content_type="application/json")


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


# Indicators ------------------------------------------------------------------------------


def test_anyone_lists_the_catalogue_filtered_by_measure_period_type_and_search(client_for, recovery, contacts):
    IndicatorFactory(
        code="test-old", name="Old count", definition="-", measure=Measure.COUNT, period_type="year", is_active=False
    )
    client = client_for(None)

    def codes(query: str) -> list[str]:
        response = client.get(f"/api/v1/indicators/{query}")
        assert response.status_code == 200
        return sorted(i["code"] for i in response.json()["results"] if i["code"].startswith("test-"))

    assert codes("") == ["test-contacts", "test-old", "test-recovery"]
    assert codes("?measure=proportion") == ["test-recovery"]
    assert codes("?period_type=year") == ["test-old"]
    assert codes("?is_active=false") == ["test-old"]
    assert codes("?search=recovered") == ["test-recovery"]


def test_anyone_reads_an_indicator_by_its_code(client_for, recovery):
    response = client_for(None).get("/api/v1/indicators/test-recovery/")
    assert response.status_code == 200
    assert response.json()["measure"] == "proportion"


def test_an_unknown_indicator_code_is_a_404_problem(client_for):
    assert_problem(client_for(None).get("/api/v1/indicators/no-such-thing/"), 404)


def test_a_catalogue_manager_creates_an_indicator(client_for, catalogue_manager):
    response = client_for(catalogue_manager).post(
        "/api/v1/indicators/",
        {
            "code": "test-new",
            "name": "A new measure",
            "definition": "Counts something.",
            "measure": "count",
            "period_type": "quarter",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Indicator.objects.get(code="test-new").period_type == PeriodType.QUARTER
    assert response.json()["url"].endswith("/api/v1/indicators/test-new/")


def test_a_catalogue_manager_changes_an_indicator_but_not_its_code(client_for, catalogue_manager, recovery):
    client = client_for(catalogue_manager)
    response = client.patch("/api/v1/indicators/test-recovery/", {"name": "Renamed"}, content_type="application/json")
    assert response.status_code == 200
    recovery.refresh_from_db()
    assert recovery.name == "Renamed"
    response = client.patch("/api/v1/indicators/test-recovery/", {"code": "other"}, content_type="application/json")
    body = assert_problem(response, 400)
    assert body["errors"][0]["field"] == "code"


def test_an_invalid_indicator_is_a_400_problem_listing_the_fields(client_for, staff):
    response = client_for(staff).post(
        "/api/v1/indicators/", {"code": "x", "name": "X", "measure": "median"}, content_type="application/json"
    )
    body = assert_problem(response, 400)
    assert {e["field"] for e in body["errors"]} >= {"definition", "measure", "period_type"}


def test_a_provider_may_not_change_the_catalogue(client_for, provider, recovery):
    client = client_for(provider)
    assert_problem(
        client.patch("/api/v1/indicators/test-recovery/", {"name": "X"}, content_type="application/json"), 403
    )
    assert_problem(client.post("/api/v1/indicators/", {"code": "y"}, content_type="application/json"), 403)
    recovery.refresh_from_db()
    assert recovery.name == "Recovery rate (test)"


def test_an_anonymous_visitor_must_sign_in_to_change_the_catalogue(client_for, recovery):
    response = client_for(None).patch(
        "/api/v1/indicators/test-recovery/", {"name": "X"}, content_type="application/json"
    )
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("extra", [1, 30])
def test_the_indicator_list_takes_two_queries_whatever_its_length(client_for, django_assert_num_queries, extra):
    for i in range(extra):
        IndicatorFactory(code=f"test-n{i}", name=f"N {i}", definition="-", measure="count", period_type="month")
    client = client_for(None)
    # count, page
    with django_assert_num_queries(2):
        response = client.get("/api/v1/indicators/?page_size=100")
    assert response.json()["count"] == Indicator.objects.count()


# Populations -----------------------------------------------------------------------------


def test_anyone_reads_populations_filtered_by_area_and_year(client_for):
    Population.objects.create(area=borough(CAMDEN), year=2024, population=210_000)
    Population.objects.create(area=borough(CAMDEN), year=2025, population=211_000)
    Population.objects.create(area=borough(LAMBETH), year=2025, population=317_000)
    client = client_for(None)
    results = client.get(f"/api/v1/populations/?area={CAMDEN}&year=2025").json()["results"]
    assert [(p["area"], p["year"], p["population"]) for p in results] == [(CAMDEN, 2025, 211_000)]
    detail = client.get(f"/api/v1/populations/{results[0]['id']}/")
    assert detail.json()["area_name"] == "Camden"


def test_an_unknown_population_is_a_404_problem(client_for):
    assert_problem(client_for(None).get("/api/v1/populations/999999/"), 404)


@pytest.mark.parametrize("years", [1, 5])
def test_the_population_list_takes_two_queries_whatever_its_length(client_for, django_assert_num_queries, years):
    areas = Area.objects.filter(level=AreaLevel.BOROUGH)
    Population.objects.bulk_create(
        Population(area=a, year=2020 + y, population=100_000) for a in areas for y in range(years)
    )
    client = client_for(None)
    # count, page (areas joined)
    with django_assert_num_queries(2):
        response = client.get("/api/v1/populations/?page_size=500")
    assert len(response.json()["results"]) == 33 * years


# Outcome values --------------------------------------------------------------------------


def test_an_anonymous_visitor_must_sign_in_to_read_values(client_for, provider_org, recovery):
    values = make_values(provider_org, recovery, CAMDEN, 1)
    client = client_for(None)
    assert_problem(client.get("/api/v1/outcome-values/"), 401)
    assert_problem(client.get(f"/api/v1/outcome-values/{values[0].pk}/"), 401)


def test_a_provider_never_sees_another_providers_values(
    client_for, provider, provider_org, second_camden_provider, recovery
):
    own = make_values(provider_org, recovery, CAMDEN, 2)
    theirs = make_values(second_camden_provider, recovery, CAMDEN, 2)
    client = client_for(provider)
    listed = {v["id"] for v in client.get("/api/v1/outcome-values/").json()["results"]}
    assert listed == {v.pk for v in own}
    assert client.get(f"/api/v1/outcome-values/{own[0].pk}/").status_code == 200
    assert_problem(client.get(f"/api/v1/outcome-values/{theirs[0].pk}/"), 404)


def test_a_commissioner_reads_values_only_in_the_boroughs_they_commission(
    client_for, commissioner, provider_org, other_org, recovery
):
    camden = make_values(provider_org, recovery, CAMDEN, 2)
    lambeth = make_values(other_org, recovery, LAMBETH, 2)
    client = client_for(commissioner)
    results = client.get("/api/v1/outcome-values/").json()["results"]
    assert {v["id"] for v in results} == {v.pk for v in camden}
    assert results[0]["borough"] == CAMDEN
    assert results[0]["organisation"] == provider_org.slug
    assert results[0]["period"] == "2025-02"  # newest first
    assert results[0]["numerator"] == "11"
    assert_problem(client.get(f"/api/v1/outcome-values/{lambeth[0].pk}/"), 404)


@pytest.mark.parametrize("who", ["service_user", "outsider"])
def test_a_stranger_gets_an_empty_list_and_404s(client_for, request, who, provider_org, recovery):
    values = make_values(provider_org, recovery, CAMDEN, 2)
    client = client_for(request.getfixturevalue(who))
    assert client.get("/api/v1/outcome-values/").json()["count"] == 0
    assert_problem(client.get(f"/api/v1/outcome-values/{values[0].pk}/"), 404)


def test_values_filter_by_indicator_borough_organisation_period_and_status(
    client_for, staff, provider_org, other_org, recovery, contacts
):
    make_values(provider_org, recovery, CAMDEN, 12)  # 2025-01 .. 2025-12
    make_values(provider_org, contacts, CAMDEN, 3)
    make_values(other_org, recovery, LAMBETH, 3, status=ValueStatus.APPROVED)
    client = client_for(staff)

    def count(query: str) -> int:
        response = client.get(f"/api/v1/outcome-values/?{query}")
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count("indicator=test-contacts") == 3
    assert count(f"borough={LAMBETH}") == 3
    assert count(f"organisation={provider_org.slug}") == 15
    assert count("indicator=test-recovery&period_from=2025-04&period_to=2025-06") == 3 + 0
    assert count("indicator=test-recovery&period_from=2025-Q2&period_to=2025-Q3") == 6
    assert count("indicator=test-recovery&period_from=2025-11-15") == 1  # December only
    assert count("indicator=test-recovery&period_to=2025") == 15
    assert count("status=approved") == 3


def test_a_malformed_period_filter_is_a_400_problem(client_for, staff):
    body = assert_problem(client_for(staff).get("/api/v1/outcome-values/?period_from=April"), 400)
    assert body["errors"][0]["field"] == "period_from"


@pytest.mark.parametrize("per_borough", [2, 12])
def test_the_value_list_takes_seven_queries_whatever_its_length(
    client_for, commissioner, provider_org, recovery, contacts, django_assert_num_queries, per_borough
):
    make_values(provider_org, recovery, CAMDEN, per_borough)
    make_values(provider_org, contacts, CAMDEN, per_borough)
    client = client_for(commissioner)
    # session, user, count, page (indicator, borough, organisation and reviewer joined), then the
    # idle-timeout session save (SESSION_SAVE_EVERY_REQUEST): savepoint, update, release
    with django_assert_num_queries(7):
        response = client.get("/api/v1/outcome-values/?page_size=500")
    assert response.json()["count"] == 2 * per_borough


def test_the_review_endpoint_approves_only_values_in_the_commissioners_boroughs(
    client_for, commissioner, provider_org, other_org, recovery
):
    camden = make_values(provider_org, recovery, CAMDEN, 3)
    lambeth = make_values(other_org, recovery, LAMBETH, 2)
    ids = [v.pk for v in camden + lambeth]
    response = client_for(commissioner).post(
        "/api/v1/outcome-values/review/", {"ids": ids, "status": "approved"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"changed": 3}
    statuses = dict(OutcomeValue.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert {statuses[v.pk] for v in camden} == {ValueStatus.APPROVED}
    assert {statuses[v.pk] for v in lambeth} == {ValueStatus.SUBMITTED}
    assert OutcomeValue.objects.get(pk=camden[0].pk).reviewed_by == commissioner


def test_a_query_needs_a_message_for_the_provider(client_for, commissioner, provider_org, recovery):
    values = make_values(provider_org, recovery, CAMDEN, 1)
    client = client_for(commissioner)
    body = assert_problem(
        client.post(
            "/api/v1/outcome-values/review/",
            {"ids": [values[0].pk], "status": "queried"},
            content_type="application/json",
        ),
        400,
    )
    assert body["errors"][0]["field"] == "message"
    response = client.post(
        "/api/v1/outcome-values/review/",
        {"ids": [values[0].pk], "status": "queried", "message": "Check the denominator."},
        content_type="application/json",
    )
    assert response.json() == {"changed": 1}
    assert OutcomeValue.objects.get(pk=values[0].pk).query_message == "Check the denominator."


def test_a_provider_who_reviews_nothing_may_not_review(client_for, provider, provider_org, recovery):
    values = make_values(provider_org, recovery, CAMDEN, 1)
    response = client_for(provider).post(
        "/api/v1/outcome-values/review/", {"ids": [values[0].pk], "status": "approved"}, content_type="application/json"
    )
    assert_problem(response, 403)
    assert OutcomeValue.objects.get(pk=values[0].pk).status == ValueStatus.SUBMITTED


def test_an_anonymous_visitor_may_not_review(client_for, provider_org, recovery):
    values = make_values(provider_org, recovery, CAMDEN, 1)
    response = client_for(None).post(
        "/api/v1/outcome-values/review/", {"ids": [values[0].pk], "status": "approved"}, content_type="application/json"
    )
    assert_problem(response, 401)


# Submitting ------------------------------------------------------------------------------


def test_a_provider_submits_a_csv_and_gets_201_with_the_summary(client_for, provider, provider_org, recovery):
    body = csv_rows("test-recovery", [(CAMDEN, "2025-01", "12", "40"), (CAMDEN, "2025-02", "15", "41")])
    response = post_csv(client_for(provider), body)
    assert response.status_code == 201, response.content
    summary = response.json()
    assert summary["status"] == "completed"
    assert (summary["created_count"], summary["updated_count"], summary["rejected_count"]) == (2, 0, 0)
    assert (summary["total_rows"], summary["processed_rows"], summary["progress_percent"]) == (2, 2, 100)
    assert summary["organisation"] == provider_org.slug
    assert summary["door"] == "api"
    assert response["Location"] == summary["url"]
    assert summary["url"].endswith(f"/api/v1/submissions/{summary['id']}/")
    assert OutcomeValue.objects.filter(organisation=provider_org, indicator=recovery).count() == 2


def test_resubmitting_the_same_csv_reports_every_row_unchanged(client_for, provider, recovery):
    body = csv_rows("test-recovery", [(CAMDEN, "2025-01", "12", "40")])
    client = client_for(provider)
    post_csv(client, body)
    summary = post_csv(client, body).json()
    assert (summary["created_count"], summary["updated_count"], summary["unchanged_count"]) == (0, 0, 1)


def test_a_utf8_csv_with_a_byte_order_mark_works(client_for, provider, recovery):
    body = "\ufeff".encode() + csv_rows("test-recovery", [(CAMDEN, "2025-03", "5", "10")])
    response = post_csv(client_for(provider), body)
    assert response.status_code == 201
    assert response.json()["created_count"] == 1


def test_the_body_is_streamed_not_read_whole_into_memory(client_for, provider, recovery, settings):
    # Reading request.body would enforce DATA_UPLOAD_MAX_MEMORY_SIZE; both doors read the stream instead.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    body = csv_rows("test-recovery", [(CAMDEN, f"2025-{m:02d}", "1", "2") for m in range(1, 7)])
    assert post_csv(client_for(provider), body).json()["created_count"] == 6
    rows = [row("test-recovery", f"2025-{m:02d}", numerator=1, denominator=2) for m in range(7, 13)]
    assert post_json(client_for(provider), rows).json()["created_count"] == 6


def test_a_csv_named_in_content_disposition_keeps_its_file_name(client_for, provider, recovery):
    response = client_for(provider).post(
        "/api/v1/submissions/",
        data=csv_rows("test-recovery", [(CAMDEN, "2025-03", "5", "10")]),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="march.csv"'},
    )
    assert response.json()["filename"] == "march.csv"


def test_a_json_list_of_rows_with_numbers_and_a_null_denominator_works(
    client_for, provider, provider_org, recovery, contacts, wellbeing
):
    rows = [
        row("test-recovery", "2025-01", numerator=12, denominator=40),
        row("test-contacts", "2025-01", numerator=300, denominator=None),
        row("test-contacts", "2025-02", numerator=310.0),
        row("test-wellbeing", "2025-Q1", numerator=23.75, denominator=80, note="WEMWBS"),
    ]
    response = post_json(client_for(provider), rows)
    assert response.status_code == 201, response.content
    summary = response.json()
    assert (summary["created_count"], summary["rejected_count"]) == (4, 0), summary["issues"]
    stored = {
        (v.indicator.code, v.period_start.month): (v.numerator, v.denominator, v.note)
        for v in OutcomeValue.objects.filter(organisation=provider_org).select_related("indicator")
    }
    assert stored[("test-recovery", 1)] == (Decimal("12"), 40, "")
    assert stored[("test-contacts", 1)] == (Decimal("300"), None, "")
    assert stored[("test-contacts", 2)] == (Decimal("310"), None, "")
    assert stored[("test-wellbeing", 1)] == (Decimal("23.75"), 80, "WEMWBS")


def test_json_rows_may_come_wrapped_in_an_object(client_for, provider, recovery):
    rows = [
        {
            "indicator_code": "test-recovery",
            "borough_code": CAMDEN,
            "period": "2025-01",
            "numerator": "1",
            "denominator": "2",
        }
    ]
    response = post_json(client_for(provider), {"rows": rows})
    assert response.status_code == 201
    assert response.json()["created_count"] == 1


@pytest.mark.parametrize("payload", [{"data": []}, "rows", [1, 2]])
def test_json_that_is_not_a_list_of_row_objects_is_a_400_problem(client_for, provider, payload):
    assert_problem(post_json(client_for(provider), payload), 400)
    assert not Submission.objects.exists()


def test_malformed_json_is_a_400_problem(client_for, provider):
    response = client_for(provider).post("/api/v1/submissions/", data=b"[{", content_type="application/json")
    assert_problem(response, 400)


def test_invalid_rows_are_reported_by_row_and_the_valid_ones_saved(client_for, provider, provider_org, recovery):
    body = csv_rows("test-recovery", [(CAMDEN, "2025-01", "12", "40"), (CAMDEN, "2025-02", "50", "40")])
    summary = post_csv(client_for(provider), body).json()
    assert (summary["status"], summary["created_count"], summary["rejected_count"]) == ("completed", 1, 1)
    assert [(i["row_number"], i["code"]) for i in summary["issues"]] == [(3, "numerator_above_denominator")]


def test_a_dry_run_reports_but_writes_no_value(client_for, provider, recovery):
    body = csv_rows("test-recovery", [(CAMDEN, "2025-01", "12", "40"), (CAMDEN, "2025-02", "13", "40")])
    response = post_csv(client_for(provider), body, "?dry_run=true")
    assert response.status_code == 201
    summary = response.json()
    assert summary["dry_run"] is True
    assert summary["created_count"] == 2
    assert not OutcomeValue.objects.exists()


def test_an_atomic_submission_with_one_bad_row_writes_nothing_and_reports_the_row(client_for, provider, recovery):
    body = csv_rows(
        "test-recovery",
        [(CAMDEN, "2025-01", "12", "40"), (CAMDEN, "2025-13", "13", "40"), (CAMDEN, "2025-03", "14", "40")],
    )
    response = post_csv(client_for(provider), body, "?atomic=true")
    assert response.status_code == 201
    summary = response.json()
    assert summary["status"] == "rejected"
    assert (summary["created_count"], summary["rejected_count"]) == (0, 1)
    assert [(i["row_number"], i["column"], i["code"]) for i in summary["issues"]] == [(3, "period", "period_malformed")]
    assert not OutcomeValue.objects.exists()


def test_a_body_over_the_upload_limit_is_refused_with_413_before_anything_is_recorded(
    client_for, provider, recovery, settings
):
    settings.OUTCOMES_MAX_UPLOAD_BYTES = 100
    body = csv_rows("test-recovery", [(CAMDEN, f"2025-{m:02d}", "1", "2") for m in range(1, 10)])
    assert len(body) > 100
    body_csv = assert_problem(post_csv(client_for(provider), body), 413)
    assert "100" in body_csv["detail"]
    assert_problem(post_json(client_for(provider), [{"indicator_code": "x" * 200}]), 413)
    assert not Submission.objects.exists()


def test_an_unknown_content_type_is_a_415_problem(client_for, provider, recovery):
    response = client_for(provider).post("/api/v1/submissions/", data=b"a,b\n1,2\n", content_type="text/plain")
    body = assert_problem(response, 415)
    assert "text/plain" in body["detail"]
    assert not Submission.objects.exists()


def test_an_unreadable_file_is_recorded_as_rejected_with_the_reason(client_for, provider):
    response = post_csv(client_for(provider), b"indicator_code;borough_code;period\n")
    assert response.status_code == 201
    summary = response.json()
    assert summary["status"] == "rejected"
    assert summary["issues"][0]["code"] == "delimiter"


def test_an_anonymous_visitor_must_sign_in_to_submit(client_for, recovery):
    assert_problem(post_csv(client_for(None), csv_rows("test-recovery", [(CAMDEN, "2025-01", "1", "2")])), 401)


@pytest.mark.parametrize("who", ["commissioner", "service_user"])
def test_someone_who_submits_for_no_organisation_gets_403(client_for, request, who, recovery):
    response = post_csv(
        client_for(request.getfixturevalue(who)), csv_rows("test-recovery", [(CAMDEN, "2025-01", "1", "2")])
    )
    assert_problem(response, 403)
    assert not Submission.objects.exists()


def test_a_provider_may_not_submit_for_another_organisation(client_for, provider, other_org, recovery):
    body = csv_rows("test-recovery", [(LAMBETH, "2025-01", "1", "2")])
    assert_problem(post_csv(client_for(provider), body, f"?organisation={other_org.slug}"), 403)
    assert_problem(post_csv(client_for(provider), body, "?organisation=no-such-org"), 400)
    assert not Submission.objects.exists()


def test_someone_submitting_for_several_organisations_must_name_one(
    client_for, provider, provider_org, second_camden_provider, recovery
):
    MembershipFactory(user=provider, organisation=second_camden_provider, role=Role.DATA_SUBMITTER)
    body = csv_rows("test-recovery", [(CAMDEN, "2025-01", "1", "2")])
    client = client_for(provider)
    problem = assert_problem(post_csv(client, body), 400)
    assert problem["errors"][0]["field"] == "organisation"
    response = post_csv(client, body, f"?organisation={second_camden_provider.slug}")
    assert response.status_code == 201
    assert OutcomeValue.objects.get().organisation == second_camden_provider


def test_a_large_submission_answers_202_with_the_url_to_poll(
    client_for, provider, recovery, settings, django_capture_on_commit_callbacks
):
    settings.OUTCOMES_ASYNC_ROWS = 2
    body = csv_rows("test-recovery", [(CAMDEN, f"2025-{m:02d}", "1", "2") for m in range(1, 5)])
    # The worker task is enqueued on commit; here it is captured, not run (test_async_import runs it).
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_csv(client_for(provider), body)
    assert response.status_code == 202, response.content
    summary = response.json()
    assert summary["status"] == "queued"
    assert summary["total_rows"] == 4
    assert response["Location"] == summary["url"]
    assert len(callbacks) == 1
    assert not OutcomeValue.objects.exists()


# Reading submissions ---------------------------------------------------------------------


def test_a_provider_lists_their_organisations_submissions_newest_first(
    client_for, provider, provider_org, second_camden_provider
):
    colleague = MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER).user
    older, newer = make_submissions(provider_org, colleague, 2)
    make_submissions(second_camden_provider, UserFactory(), 1)
    results = client_for(provider).get("/api/v1/submissions/").json()["results"]
    assert [s["id"] for s in results] == [newer.pk, older.pk]
    assert results[0]["submitted_by"] == colleague.display_name


def test_another_organisations_submission_is_a_404(client_for, provider, second_camden_provider):
    (theirs,) = make_submissions(second_camden_provider, UserFactory(), 1)
    client = client_for(provider)
    assert_problem(client.get(f"/api/v1/submissions/{theirs.pk}/"), 404)
    assert_problem(client.get(f"/api/v1/submissions/{theirs.pk}/issues/"), 404)


def test_an_anonymous_visitor_must_sign_in_to_read_submissions(client_for, provider, provider_org):
    (mine,) = make_submissions(provider_org, provider, 1)
    client = client_for(None)
    assert_problem(client.get("/api/v1/submissions/"), 401)
    assert_problem(client.get(f"/api/v1/submissions/{mine.pk}/"), 401)
    assert_problem(client.get(f"/api/v1/submissions/{mine.pk}/issues/"), 401)


def test_a_running_submission_shows_live_progress_from_the_worker(client_for, provider, provider_org):
    from outcomes import ingest

    submission = SubmissionFactory(
        organisation=provider_org,
        submitted_by=provider,
        door=Door.API,
        status=Submission.Status.RUNNING,
        total_rows=200,
    )
    ingest.publish_progress(submission.pk, 50, "writing")
    client = client_for(provider)
    detail = client.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert (detail["processed_rows"], detail["progress_percent"]) == (50, 25)
    assert detail["progress"] == {"done": 50, "stage": "writing"}
    listed = client.get("/api/v1/submissions/").json()["results"][0]
    assert listed["progress_percent"] == 25


def test_the_issues_of_a_submission_are_paged_and_filter_by_severity_and_code(client_for, provider, provider_org):
    (submission,) = make_submissions(provider_org, provider, 1)
    issue = SubmissionIssue
    SubmissionIssue.objects.bulk_create(
        [
            *(issue(submission=submission, row_number=n, code="unknown_borough", message="?") for n in range(2, 12)),
            issue(submission=submission, row_number=1, code="column_ignored", message="-", severity="warning"),
            issue(submission=submission, row_number=None, code="encoding", message="-"),
        ]
    )
    client = client_for(provider)
    url = f"/api/v1/submissions/{submission.pk}/issues/"
    page = client.get(url + "?page_size=5").json()
    assert page["count"] == 12
    assert len(page["results"]) == 5
    assert page["results"][0]["row_number"] is None  # file-level first
    assert page["next"]
    assert client.get(url + "?severity=warning").json()["count"] == 1
    assert client.get(url + "?code=unknown_borough").json()["count"] == 10


@pytest.mark.parametrize("count", [2, 20])
def test_the_submission_list_takes_seven_queries_whatever_its_length(
    client_for, provider, provider_org, django_assert_num_queries, count
):
    make_submissions(provider_org, provider, count)
    client = client_for(provider)
    # session, user, count, page (organisation and submitter joined); session save: savepoint, update, release
    with django_assert_num_queries(7):
        response = client.get("/api/v1/submissions/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [2, 40])
def test_the_issue_list_takes_eight_queries_whatever_its_length(
    client_for, provider, provider_org, django_assert_num_queries, count
):
    (submission,) = make_submissions(provider_org, provider, 1)
    SubmissionIssue.objects.bulk_create(
        SubmissionIssue(submission=submission, row_number=n + 2, code="unknown_borough", message="?")
        for n in range(count)
    )
    client = client_for(provider)
    # session, user, the submission (visibility), count, page; session save: savepoint, update, release
    with django_assert_num_queries(8):
        response = client.get(f"/api/v1/submissions/{submission.pk}/issues/")
    assert response.json()["count"] == count
