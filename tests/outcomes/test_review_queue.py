"""Review as commissioners do it (issue 19): context beside each value, select all on a page,
a reason for every query and rejection, who reviewed for which organisation, and the provider told."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from actionplan.models import Notification, NotificationKind
from outcomes.models import Metric, OutcomeValue, ValueStatus
from stakeholders.models import Area, AreaLevel, OrganisationType, Role
from tests.factories import MembershipFactory, OrganisationFactory
from tests.outcomes.test_views import borough, contacts, make_values, months  # noqa: F401 - contacts is a fixture

pytestmark = pytest.mark.django_db

UNUSUAL = re.compile(r">\s*Unusual\s*<")


@pytest.fixture
def council(db):
    """Camden's council commissions Camden too, beside the NCL ICB (commissioning_org)."""
    return OrganisationFactory(name="Camden Council (test)", type=OrganisationType.LA_COMMISSIONER, boroughs=["CMD"])


@pytest.fixture
def council_commissioner(council):
    return MembershipFactory(organisation=council, role=Role.COMMISSIONER, user__display_name="Lee Council").user


def london_metric(indicator, period: dt.date, numerator: int, denominator: int) -> Metric:
    return Metric.objects.create(
        indicator=indicator,
        area=Area.objects.get(level=AreaLevel.LONDON),
        period_start=period,
        basis=Metric.Basis.APPROVED,
        also_provisional=True,
        numerator=numerator,
        denominator=denominator,
        value=Decimal(100 * numerator) / denominator,
        computed_at=timezone.now(),
    )


def test_each_value_shows_the_previous_period_and_londons_figure_on_its_own_scale(
    client_for,
    commissioner,
    provider,
    provider_org,
    recovery,
    contacts,  # noqa: F811 - the fixture imported above
):
    march, april = dt.date(2025, 3, 1), dt.date(2025, 4, 1)
    make_values(provider_org, provider, recovery, ["CMD"], [march], status=ValueStatus.APPROVED, numerator=30)
    make_values(provider_org, provider, recovery, ["CMD"], [april], numerator=40)
    london_metric(recovery, april, 4_600, 9_200)
    make_values(provider_org, provider, contacts, ["CMD"], [dt.date(2025, 4, 1)], numerator=120)
    london_metric(contacts, dt.date(2025, 4, 1), 9_000, 1)
    page = client_for(commissioner).get("/data/review/").text
    # 30 of 80 last month (approved); London 4,600 of 9,200 this month.
    assert "2025-03: 37.5% (approved)" in page
    assert "London: 50.0%" in page
    # A provider's count in one borough is not on London's scale: no London figure beside it.
    assert page.count("London:") == 1
    assert "2025-Q1: none sent" in page


def test_a_value_unusual_for_its_provider_and_borough_is_flagged_with_the_usual_figure(
    client_for, commissioner, provider, provider_org, recovery
):
    history = months(6, dt.date(2024, 1, 1))
    make_values(provider_org, provider, recovery, ["CMD"], history[:5], status=ValueStatus.APPROVED, numerator=40)
    OutcomeValue.objects.filter(period_start=history[1]).update(numerator=41)
    OutcomeValue.objects.filter(period_start=history[2]).update(numerator=39)
    make_values(provider_org, provider, recovery, ["CMD"], [history[5]], numerator=79)
    page = client_for(commissioner).get("/data/review/").text
    assert UNUSUAL.search(page)
    assert "Usual for this provider: 50.0%" in page
    # An ordinary value next month is not flagged; fewer than four others never are.
    OutcomeValue.objects.filter(period_start=history[5]).update(numerator=40)
    assert not UNUSUAL.search(client_for(commissioner).get("/data/review/").text)


def test_select_all_on_this_page_ticks_every_waiting_value_without_javascript(
    client_for, commissioner, provider, provider_org, recovery
):
    waiting = make_values(provider_org, provider, recovery, ["CMD", "ISL"], months(3))
    provider_org.boroughs.add(borough("ISL"))
    make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2021, 1, 1)], status=ValueStatus.APPROVED)
    client = client_for(commissioner)
    page = client.get("/data/review/", {"status": "any"}).text
    assert "Select all 6 waiting on this page" in page
    assert 'href="/data/review/?status=any&amp;select=page"' in page
    ticked = client.get("/data/review/", {"status": "any", "select": "page"}).text
    for value in waiting:
        assert f'value="{value.pk}" checked' in ticked
    assert ticked.count(" checked>") == 6  # the approved value has no box


@pytest.mark.parametrize("action", ["query", "reject"])
def test_a_query_or_a_rejection_needs_a_reason_and_keeps_the_selection(
    client_for, commissioner, provider, provider_org, recovery, action
):
    (value,) = make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    response = client_for(commissioner).post("/data/review/", {"values": [value.pk], "action": action})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert ("Say what the provider should check" if action == "query" else "Say why the values are rejected") in (
        response.text
    )
    assert f'value="{value.pk}" checked' in response.text
    value.refresh_from_db()
    assert value.status == ValueStatus.SUBMITTED


def test_the_api_refuses_a_rejection_without_a_reason(client_for, commissioner, provider, provider_org, recovery):
    (value,) = make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    client = client_for(commissioner)
    review = "/api/v1/outcome-values/review/"
    response = client.post(review, {"ids": [value.pk], "status": "rejected"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "message"
    response = client.post(
        review,
        {"ids": [value.pk], "status": "rejected", "message": "Camden is not a borough you serve"},
        content_type="application/json",
    )
    assert response.json() == {"changed": 1}
    body = client.get(f"/api/v1/outcome-values/{value.pk}/").json()
    assert body["query_message"] == "Camden is not a borough you serve"
    assert body["reviewed_by"] == "Casey Commissioner"
    assert body["reviewed_for"] == "NCL ICB (test)"


def test_two_commissioners_of_one_borough_both_review_and_the_first_decision_stands(
    client_for, commissioner, council_commissioner, provider, provider_org, recovery
):
    first, second = make_values(provider_org, provider, recovery, ["CMD"], months(2, dt.date(2025, 1, 1)))
    icb, council = client_for(commissioner), client_for(council_commissioner)
    assert "2 values" in council.get("/data/review/").text
    icb.post("/data/review/", {"values": [first.pk], "action": "approve"})
    response = council.post("/data/review/", {"values": [first.pk, second.pk], "action": "approve"})
    assert "1 value approved. 1 could not be approved: they had already been reviewed." in (
        council.get(response.url).text
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.reviewed_by, first.reviewed_for.name) == (commissioner, "NCL ICB (test)")
    assert (second.reviewed_by, second.reviewed_for.name) == (council_commissioner, "Camden Council (test)")
    everything = icb.get("/data/review/", {"status": "any"}).text
    assert "By Casey Commissioner for NCL ICB (test)" in everything
    assert "By Lee Council for Camden Council (test)" in everything


def test_the_providers_submitters_are_told_of_a_query_with_its_reason_and_see_it_on_their_values(
    client_for, commissioner, provider, provider_org, recovery, mailoutbox, django_capture_on_commit_callbacks
):
    other_submitter = MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER).user
    values = make_values(provider_org, provider, recovery, ["CMD"], months(3, dt.date(2025, 1, 1)))
    client = client_for(commissioner)
    client.post("/data/review/", {"values": [values[0].pk], "action": "approve"})
    approved = Notification.objects.filter(recipient=provider).get()  # an approval is news, once
    assert "approved 1 value from Provider Trust (test)" in approved.text
    assert approved.url == "/data/values/?status=approved"
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/data/review/",
            {"values": [values[1].pk, values[2].pk], "action": "query", "message": "Denominators look doubled"},
        )
    told = Notification.objects.filter(kind=NotificationKind.DATA_REVIEW).order_by("recipient_id")
    assert [n.recipient for n in told] == sorted([provider, other_submitter], key=lambda u: u.pk)
    text = told[0].text
    assert text.startswith("Casey Commissioner (NCL ICB (test)) queried 2 values from Provider Trust (test)")
    assert "Recovery rate (test), Camden, 2025-03 and 1 more" in text
    assert text.endswith("Reason: Denominators look doubled")
    assert told[0].url == "/data/queries/"  # two threads: the list of queries
    assert "to be answered by" in text
    ours = client_for(provider).get("/data/values/?status=queried").text
    assert "Reason:</strong> Denominators look doubled" in ours
    assert "By Casey Commissioner for NCL ICB (test)" in ours


def test_a_rejection_is_shown_to_the_provider_with_its_reason(
    client_for, commissioner, provider, provider_org, recovery
):
    (value,) = make_values(provider_org, provider, recovery, ["CMD"], [dt.date(2025, 3, 1)])
    client_for(commissioner).post(
        "/data/review/", {"values": [value.pk], "action": "reject", "message": "This is last year's figure"}
    )
    ours = client_for(provider).get("/data/values/", {"status": "rejected"}).text
    assert "Reason:</strong> This is last year&#39;s figure" in ours
    assert Notification.objects.get(recipient=provider).text.endswith("Reason: This is last year's figure")
