"""Queries that both sides can answer (issue 22): a commissioner queries a value, the provider is
told and answers or corrects it from the thread, the commissioner re-queries or resolves it; every
query has an age and a service level in working days, England's bank holidays excluded."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from actionplan.models import Notification, NotificationKind
from commissioning.queries import services
from commissioning.queries.models import MessageKind, QueryStatus, ValueQuery
from outcomes import services as outcome_services
from outcomes.models import Door, Measure, OutcomeValue, PeriodType, Submission, ValueStatus
from stakeholders.models import Area, AreaLevel, Role
from tests.factories import IndicatorFactory, MembershipFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recovery(db):
    return IndicatorFactory(
        code="q-recovery",
        name="Recovery (query test)",
        definition="d",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )


@pytest.fixture
def value(provider, provider_org, recovery):
    submission = SubmissionFactory(
        organisation=provider_org, submitted_by=provider, door=Door.API, status=Submission.Status.COMPLETED
    )
    return OutcomeValue.objects.create(
        organisation=provider_org,
        indicator=recovery,
        borough=Area.objects.get(short_code="CMD", level=AreaLevel.BOROUGH),
        period_start=dt.date(2025, 3, 1),
        numerator=Decimal(80),
        denominator=100,
        submission=submission,
        submitted_at=timezone.now(),
    )


def make_values(provider, provider_org, indicator, count: int) -> list[OutcomeValue]:
    """`count` monthly Camden values from January 2020 (or 2025 for fewer than 13), one submission."""
    submission = SubmissionFactory(
        organisation=provider_org, submitted_by=provider, door=Door.API, status=Submission.Status.COMPLETED
    )
    camden = Area.objects.get(short_code="CMD", level=AreaLevel.BOROUGH)
    return OutcomeValue.objects.bulk_create(
        OutcomeValue(
            organisation=provider_org,
            indicator=indicator,
            borough=camden,
            period_start=dt.date(2020 + i // 12, i % 12 + 1, 1),
            numerator=1,
            denominator=2,
            submission=submission,
            submitted_at=timezone.now(),
        )
        for i in range(count)
    )


def _query(commissioner, value, text="The denominator looks doubled.") -> ValueQuery:
    outcome_services.outcome_values_review(
        actor=commissioner, value_ids=[value.pk], status=ValueStatus.QUERIED, message=text
    )
    return ValueQuery.objects.get(value=value)


# The service level -------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_englands_bank_holidays():
    # Wednesday 23 December 2026: Christmas (Fri 25), Boxing Day observed (Mon 28), New Year (Fri 1).
    assert services.working_days_after(dt.date(2026, 12, 23), 1) == dt.date(2026, 12, 24)
    assert services.working_days_after(dt.date(2026, 12, 23), 2) == dt.date(2026, 12, 29)
    assert services.working_days_after(dt.date(2026, 12, 23), 10) == dt.date(2027, 1, 11)
    assert services.working_days_between(dt.date(2026, 12, 23), dt.date(2027, 1, 11)) == 10
    assert services.working_days_after(dt.date(2026, 6, 5), 10) == dt.date(2026, 6, 19)  # a Friday, no holiday


def test_a_query_opens_a_thread_due_in_ten_working_days_and_tells_the_providers_submitters(
    commissioner, provider, value, time_machine
):
    time_machine.move_to(dt.datetime(2026, 12, 23, 10, tzinfo=dt.UTC))
    query = _query(commissioner, value)
    assert query.status == QueryStatus.OPEN and query.due_on == dt.date(2027, 1, 11)
    assert query.commissioner.name == "NCL ICB (test)" and query.opened_by == commissioner
    assert [(m.kind, m.text) for m in query.messages.all()] == [(MessageKind.QUERY, "The denominator looks doubled.")]
    told = Notification.objects.get(recipient=provider)
    assert told.kind == NotificationKind.DATA_REVIEW
    assert told.url == f"/data/queries/{query.pk}/"
    assert "to be answered by 11 January 2027" in told.text
    assert not query.is_overdue(dt.date(2027, 1, 11)) and query.is_overdue(dt.date(2027, 1, 12))


# The loop between two accounts, in the browser's pages ------------------------------------------


def test_the_provider_replies_the_commissioner_requeries_the_provider_corrects_and_the_commissioner_resolves(
    client_for, commissioner, provider, value
):
    query = _query(commissioner, value)
    url = f"/data/queries/{query.pk}/"
    theirs, ours = client_for(provider), client_for(commissioner)
    assert "Answer the query" in theirs.get(url).text
    assert "Resolve the query" not in theirs.get(url).text

    response = theirs.post(url, {"form": "reply", "reply-text": "We counted referrals twice; checking."})
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    told = Notification.objects.get(recipient=commissioner)
    assert told.kind == NotificationKind.QUERY_ANSWER and told.url == url

    page = ours.get(url).text
    assert "We counted referrals twice; checking." in page and "Resolve the query" in page
    assert ours.post(url, {"form": "requery", "requery-text": "Please send the corrected figure."}).status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN

    response = theirs.post(
        url, {"form": "correct", "correct-numerator": "40", "correct-denominator": "100", "correct-text": "Fixed."}
    )
    assert response.status_code == 302, response.text
    value.refresh_from_db()
    assert (value.numerator, value.status) == (Decimal(40), ValueStatus.SUBMITTED)
    correction = query.messages.get(kind=MessageKind.CORRECTION)
    assert correction.submission.door == Door.FORM and correction.submission.updated_count == 1

    assert ours.post(url, {"form": "resolve", "resolve-text": "Thank you.", "resolve-approve": "on"}).status_code == 302
    query.refresh_from_db()
    value.refresh_from_db()
    assert query.status == QueryStatus.RESOLVED and value.status == ValueStatus.APPROVED
    kinds = list(query.messages.values_list("kind", flat=True))
    assert kinds == ["query", "reply", "requery", "correction", "resolution"]
    # Resolved: nothing more can be posted, and the page says how to ask again.
    response = theirs.post(url, {"form": "reply", "reply-text": "One more thing"})
    assert response.status_code == 302
    assert "it has been resolved" in theirs.get(response.url).text
    assert query.messages.count() == 5


def test_a_correction_the_import_rejects_is_shown_on_the_form_and_saves_nothing(
    client_for, commissioner, provider, value
):
    query = _query(commissioner, value)
    response = client_for(provider).post(
        f"/data/queries/{query.pk}/",
        {"form": "correct", "correct-numerator": "150", "correct-denominator": "100"},
    )
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert 'value="150"' in response.text  # what they typed is kept
    value.refresh_from_db()
    assert value.numerator == Decimal(80)
    assert not query.messages.filter(kind=MessageKind.CORRECTION).exists()


def test_a_reply_needs_words_and_a_requery_of_a_corrected_value_queries_it_again(
    client_for, commissioner, provider, value
):
    query = _query(commissioner, value)
    url = f"/data/queries/{query.pk}/"
    response = client_for(provider).post(url, {"form": "reply", "reply-text": " "})
    assert response.status_code == 200 and "There is a problem" in response.text
    services.query_correct(actor=provider, query=query, numerator=Decimal(40), denominator=100)
    value.refresh_from_db()
    assert value.status == ValueStatus.SUBMITTED
    services.query_requery(actor=commissioner, query=query, text="Still high against last month.")
    value.refresh_from_db()
    query.refresh_from_db()
    assert value.status == ValueStatus.QUERIED and query.status == QueryStatus.OPEN
    assert ValueQuery.objects.filter(value=value).count() == 1  # the same thread, reopened
    assert query.messages.order_by("-pk").first().kind == MessageKind.REQUERY


# Who may -------------------------------------------------------------------------------------------


def test_who_sees_answers_and_resolves_a_query(client_for, commissioner, provider, value, other_org, outsider, staff):
    query = _query(commissioner, value)
    url = f"/data/queries/{query.pk}/"
    # Staff read every value, so they see the thread, but they neither answer nor resolve it.
    assert client_for(staff).get(url).status_code == 200
    assert client_for(staff).post(url, {"form": "reply", "reply-text": "x"}).status_code == 403
    # The provider's colleague without the submitter role reads none of its values: not found.
    colleague = MembershipFactory(organisation=query.provider, role=Role.ORG_ADMIN).user
    assert client_for(colleague).get(url).status_code == 404
    # A commissioner elsewhere, and another provider: not found.
    assert client_for(outsider).get(url).status_code == 404
    other_submitter = MembershipFactory(organisation=other_org, role=Role.DATA_SUBMITTER).user
    assert client_for(other_submitter).get(url).status_code == 404
    assert client_for(other_submitter).post(url, {"form": "reply", "reply-text": "x"}).status_code == 404
    # The commissioner may not answer for the provider, nor the provider resolve.
    response = client_for(commissioner).post(url, {"form": "reply", "reply-text": "x"})
    assert response.status_code == 302 and query.messages.count() == 1
    response = client_for(provider).post(url, {"form": "resolve"})
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert client_for(None).get(url).status_code == 302  # sign in first


def test_the_list_shows_both_sides_their_queries_and_which_are_overdue(
    client_for, commissioner, provider, value, time_machine
):
    time_machine.move_to(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC))
    _query(commissioner, value)
    for client in (client_for(provider), client_for(commissioner)):
        page = client.get("/data/queries/").text
        assert "1 query: not resolved" in page and "Recovery (query test), Camden, 2025-03" in page
        assert "nhsuk-tag--red" not in page
    time_machine.move_to(dt.datetime(2026, 6, 20, 10, tzinfo=dt.UTC))
    page = client_for(provider).get("/data/queries/", {"show": "overdue"}).text
    assert "1 query: overdue" in page and re.search(r"nhsuk-tag--red\"\s*>\s*Overdue", page)
    assert "<strong>1 overdue</strong>" in page


@pytest.mark.parametrize("count", [2, 30])
def test_the_list_runs_a_fixed_number_of_queries(
    client_for, commissioner, provider, provider_org, recovery, django_assert_num_queries, count
):
    values = make_values(provider, provider_org, recovery, count)
    outcome_services.outcome_values_review(
        actor=commissioner, value_ids=[v.pk for v in values], status=ValueStatus.QUERIED, message="Check"
    )
    client = client_for(provider)
    # session, user, the header's data links, unread notifications, the counts, the page count,
    # the page of queries, and saving the session (savepoint, update, release)
    with django_assert_num_queries(10):
        assert client.get("/data/queries/").status_code == 200


# Over the API ----------------------------------------------------------------------------------------


def _post(client, pk, body):
    return client.post(f"/api/v1/value-queries/{pk}/messages/", json.dumps(body), content_type="application/json")


def test_the_loop_over_the_api(client_for, commissioner, provider, value):
    query = _query(commissioner, value)
    theirs, ours = client_for(provider), client_for(commissioner)
    listed = theirs.get("/api/v1/value-queries/").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "open"
    assert listed["results"][0]["messages"][0]["text"] == "The denominator looks doubled."

    assert _post(ours, query.pk, {"kind": "reply", "text": "Not mine to answer"}).status_code == 403
    response = _post(theirs, query.pk, {"kind": "correction", "numerator": "40", "denominator": 100})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "answered" and response.json()["messages"][-1]["submission"]
    bad = _post(theirs, query.pk, {"kind": "correction", "numerator": "150", "denominator": 100})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "numerator"
    assert _post(theirs, query.pk, {"kind": "resolution"}).status_code == 403
    response = _post(ours, query.pk, {"kind": "resolution", "approve": True})
    assert response.status_code == 201 and response.json()["status"] == "resolved"
    assert _post(theirs, query.pk, {"kind": "reply", "text": "late"}).status_code == 400
    value.refresh_from_db()
    assert value.status == ValueStatus.APPROVED and value.numerator == Decimal(40)
    assert theirs.get("/api/v1/value-queries/", {"show": "resolved"}).json()["count"] == 1
    assert theirs.get("/api/v1/value-queries/", {"show": "nonsense"}).status_code == 400


def test_the_api_hides_a_query_from_whoever_may_not_read_the_value(client_for, commissioner, value, outsider):
    query = _query(commissioner, value)
    client = client_for(outsider)
    assert client.get(f"/api/v1/value-queries/{query.pk}/").status_code == 404
    assert _post(client, query.pk, {"kind": "reply", "text": "x"}).status_code == 404
    assert client.get("/api/v1/value-queries/").json()["count"] == 0
    assert client_for(None).get("/api/v1/value-queries/").status_code == 401


# Scorecards --------------------------------------------------------------------------------------


def test_the_scorecards_count_by_hand_built_cases(
    client_for, commissioner, provider, provider_org, recovery, time_machine
):
    from commissioning.queries.selectors import scorecards

    values = make_values(provider, provider_org, recovery, 10)
    # Monday 1 June 2026: three values queried (due Monday 15 June).
    time_machine.move_to(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC))
    outcome_services.outcome_values_review(
        actor=commissioner, value_ids=[v.pk for v in values[:3]], status=ValueStatus.QUERIED, message="Check"
    )
    first, second, _still_open = ValueQuery.objects.order_by("value__period_start")
    # Resolved after 2 working days (Wednesday 3 June) and after 4 (Friday 5 June).
    time_machine.move_to(dt.datetime(2026, 6, 3, 9, tzinfo=dt.UTC))
    services.query_resolve(actor=commissioner, query=first)
    time_machine.move_to(dt.datetime(2026, 6, 5, 9, tzinfo=dt.UTC))
    services.query_resolve(actor=commissioner, query=second)
    # Tuesday 16 June: the third is overdue.
    time_machine.move_to(dt.datetime(2026, 6, 16, 9, tzinfo=dt.UTC))
    for user in (provider, commissioner):  # both sides see the same figures
        cards = scorecards(user)
        (row,) = cards["providers"]
        assert (row.organisation, row.values, row.queried, row.raised) == (provider_org, 10, 3, 3)
        assert row.queried_percent == 30 and row.median_days == 3 and row.overdue == 1
        (ncl,) = cards["commissioners"]
        assert (ncl.organisation.name, ncl.raised, ncl.median_days, ncl.overdue) == ("NCL ICB (test)", 3, 3, 1)
    page = client_for(provider).get("/data/scorecards/").text
    assert "3 of 10" in page and "Provider Trust (test)" in page and "NCL ICB (test)" in page


def test_the_scorecards_show_nothing_to_whoever_sees_no_values(client_for, outsider, commissioner, value):
    _query(commissioner, value)
    page = client_for(outsider).get("/data/scorecards/").text
    assert "No provider's values are yours to see." in page and "Provider Trust (test)" not in page
    assert client_for(None).get("/data/scorecards/").status_code == 302


# Submissions waiting for review --------------------------------------------------------------------


def test_the_boroughs_commissioners_hear_of_values_waiting_for_review_once_per_submission(
    commissioner, provider, provider_org, recovery
):
    from actionplan.models import Notification

    council = MembershipFactory(
        organisation__name="Camden Council (test)",
        organisation__type="la",
        organisation__boroughs=["CMD"],
        role=Role.COMMISSIONER,
    ).user
    elsewhere = MembershipFactory(
        organisation__name="SEL ICB (test)",
        organisation__type="icb",
        organisation__boroughs=["LAM"],
        role=Role.COMMISSIONER,
    ).user
    rows = [
        {
            "indicator_code": "q-recovery",
            "borough_code": "E09000007",
            "period": "2025-03",
            "numerator": "40",
            "denominator": "80",
        }
    ]
    submission = outcome_services.submission_create(
        actor=provider, organisation=provider_org, door=Door.API, rows=rows, run_inline=True
    )
    assert submission.created_count == 1
    told = Notification.objects.filter(kind=NotificationKind.TO_REVIEW).order_by("recipient_id")
    assert {n.recipient for n in told} == {commissioner, council}
    assert told[0].text == "Provider Trust (test) sent 1 value for Camden, waiting for your review."
    assert told[0].url == "/data/review/"
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    # Sending the same again changes nothing and tells nobody; a trial run tells nobody.
    outcome_services.submission_create(
        actor=provider, organisation=provider_org, door=Door.API, rows=rows, run_inline=True
    )
    outcome_services.submission_create(
        actor=provider,
        organisation=provider_org,
        door=Door.API,
        rows=[{**rows[0], "numerator": "41"}],
        dry_run=True,
        run_inline=True,
    )
    assert told.count() == 2


def test_a_commissioner_hears_how_many_values_wait_across_their_boroughs(
    commissioner, provider, provider_org, recovery
):
    from actionplan.models import Notification
    from tests.commissioning.conftest import borough

    provider_org.boroughs.add(borough("ISL"))
    row = {"indicator_code": "q-recovery", "denominator": "80"}
    rows = [
        {**row, "borough_code": "E09000007", "period": "2025-03", "numerator": "40"},
        {**row, "borough_code": "E09000007", "period": "2025-04", "numerator": "41"},
        {**row, "borough_code": "E09000019", "period": "2025-03", "numerator": "10"},
        {**row, "borough_code": "E09000019", "period": "2025-13", "numerator": "10"},  # rejected: no such month
    ]
    submission = outcome_services.submission_create(
        actor=provider, organisation=provider_org, door=Door.API, rows=rows, run_inline=True
    )

    assert (submission.created_count, submission.rejected_count) == (3, 1)
    told = Notification.objects.get(kind=NotificationKind.TO_REVIEW, recipient=commissioner)
    assert told.text == "Provider Trust (test) sent 3 values for Camden, Islington, waiting for your review."
