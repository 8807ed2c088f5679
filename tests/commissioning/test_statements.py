"""Agreed performance statements for outcome-linked payments (issue 22): the judgement rule, the
figures a statement freezes, agreeing and disputing lines, locking, what changed since, the API's
ETag, and who may do what."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from actionplan.models import Notification, NotificationKind
from commissioning import selectors as contract_selectors
from commissioning import services as contract_services
from commissioning.models import ProviderRole
from commissioning.selectors import judge, measure_series, point_for
from commissioning.statements import selectors, services
from commissioning.statements.models import Judgement, LineStance, PaymentStatement, StatementStatus
from outcomes.models import Measure, Polarity
from stakeholders.models import Role
from tests.commissioning.conftest import add_metric, borough
from tests.factories import IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db

Q4 = dt.date(2026, 1, 1)  # 2025-26 Q4: January to March 2026, inside the test contract
JAN, FEB, MAR = Q4, dt.date(2026, 2, 1), dt.date(2026, 3, 1)
Z = 1.959963984540054
H, L, N = Polarity.HIGHER_BETTER, Polarity.LOWER_BETTER, Polarity.NO_JUDGEMENT


# The rule, by hand ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("polarity", "lower", "upper", "expected"),
    [
        (H, 30, 40, Judgement.MET),  # the whole interval at or above 30
        (H, 20, 29.9, Judgement.MISSED),  # wholly below
        (H, 25, 35, Judgement.UNCERTAIN),  # straddles the target
        (L, 20, 30, Judgement.MET),  # lower is better: wholly at or below 30
        (L, 30.1, 40, Judgement.MISSED),
        (L, 25, 35, Judgement.UNCERTAIN),
    ],
)
def test_a_target_is_met_or_missed_only_when_the_interval_lies_wholly_on_one_side(polarity, lower, upper, expected):
    judgement, _ = judge(
        measure=Measure.PROPORTION, polarity=polarity, target=30, value=(lower + upper) / 2, lower=lower, upper=upper
    )
    assert judgement == expected


def test_a_figure_without_limits_is_judged_on_its_value_and_says_so():
    judgement, note = judge(measure=Measure.MEAN, polarity=H, target=20, value=20.5, lower=None, upper=None)
    assert judgement == Judgement.MET and "no confidence limits" in note


def test_incomplete_counts_no_data_and_no_judgement_are_not_yet_certain():
    assert judge(measure=Measure.COUNT, polarity=L, target=30, value=5, lower=1, upper=9, complete=False)[0] == (
        Judgement.UNCERTAIN
    )
    assert judge(measure=Measure.COUNT, polarity=L, target=30, value=5, lower=1, upper=9)[0] == Judgement.MET
    assert judge(measure=Measure.PROPORTION, polarity=H, target=30, value=None, lower=None, upper=None)[0] == (
        Judgement.UNCERTAIN
    )
    assert judge(measure=Measure.PROPORTION, polarity=N, target=30, value=50, lower=45, upper=55)[0] == (
        Judgement.UNCERTAIN
    )


def test_pooling_months_keeps_the_targets_scale():
    # Proportions pool numerators and denominators: (10 + 20 + 30) / (100 + 100 + 100) = 20%.
    rows = [(JAN, Decimal(10), 100, None, 2), (FEB, Decimal(20), 100, None, 2), (MAR, Decimal(30), 100, None, 1)]
    point = selectors.pooled_point(Measure.PROPORTION, "month", rows)
    assert point.value == pytest.approx(20.0) and point.denominator == 300 and point.boroughs_reporting == 1
    assert point.lower < 20 < point.upper
    # Counts are the monthly average, 60 / 3 = 20, with Byar's limits of the total 60 divided by 3.
    counts = [(JAN, Decimal(10), None, None, 2), (FEB, Decimal(20), None, None, 2), (MAR, Decimal(30), None, None, 2)]
    point = selectors.pooled_point(Measure.COUNT, "month", counts)
    low = 60 * (1 - 1 / 540 - Z / (3 * math.sqrt(60))) ** 3 / 3
    high = 61 * (1 - 1 / 549 + Z / (3 * math.sqrt(61))) ** 3 / 3
    assert (point.value, point.lower, point.upper) == (20.0, pytest.approx(low), pytest.approx(high))


# Drafting ----------------------------------------------------------------------------------------


@pytest.fixture
def measures(contract, recovery, detentions):
    """Recovery (monthly proportion, target 20%) and detentions (quarterly rate, lower is better, 14)."""
    for month, (cmd, isl) in zip((JAN, FEB, MAR), ((30, 60), (20, 40), (40, 80)), strict=True):
        add_metric(recovery, borough("CMD"), month, cmd, 100)
        add_metric(recovery, borough("ISL"), month, isl, 200)
    add_metric(recovery, borough("CMD"), dt.date(2026, 4, 1), 99, 100)  # the next quarter: not in it
    add_metric(detentions, borough("CMD"), Q4, 10, population=200_000)
    add_metric(detentions, borough("ISL"), Q4, 30, population=200_000)
    made = [
        contract_services.measure_create(
            actor=None, contract=contract, indicator=recovery, target=Decimal(20), share_bp=500
        ),
        contract_services.measure_create(
            actor=None, contract=contract, indicator=detentions, target=Decimal(14), share_bp=1000
        ),
    ]
    return made


@pytest.fixture
def statement(commissioner, provider, contract, measures):
    """Drafted by the commissioner, once the provider's data submitter exists (so they are told)."""
    return services.statement_draft(actor=commissioner, contract=contract, period_start=Q4)


def _lines(statement):
    return {line.indicator_code: line for line in statement.lines.all()}


def test_drafting_freezes_the_same_figures_as_the_performance_page(statement, measures, detentions):
    lines = _lines(statement)
    rate = lines["test-detentions"]
    [row] = measure_series([measures[1].pk], periods=1)[measures[1].pk]
    expected = point_for(detentions.measure, detentions.period_type, *row)
    assert float(rate.value) == pytest.approx(expected.value) == pytest.approx(10.0)
    assert (float(rate.lower), float(rate.upper)) == (pytest.approx(expected.lower), pytest.approx(expected.upper))
    assert rate.periods == "2026-Q1" and rate.judgement == Judgement.MET  # upper limit 13.6 <= 14
    # £1,200,000 a year, 10% linked: a quarter's share is £30,000, earned.
    assert (rate.linked_pence, rate.earned_pence, rate.held_pence) == (3_000_000, 3_000_000, 0)
    recovery = lines["test-recovery"]
    # Three months pooled over both boroughs: 270 of 900 = 30%, whose interval lies above 20%.
    assert (recovery.numerator, recovery.denominator, recovery.periods_reported) == (Decimal(270), 900, 3)
    assert float(recovery.value) == pytest.approx(30.0)
    assert recovery.periods == "2026-01, 2026-02, 2026-03" and recovery.judgement == Judgement.MET


def test_drafting_tells_the_provider_side_and_refuses_a_second_statement_for_the_quarter(
    statement, commissioner, contract, provider
):
    told = Notification.objects.get(recipient=provider, kind=NotificationKind.STATEMENT)
    assert told.url == f"/commissioning/statements/{statement.pk}/" and "drafted" in told.text
    with pytest.raises(Exception, match="already has a statement"):
        services.statement_draft(actor=commissioner, contract=contract, period_start=Q4)


def test_only_the_commissioner_side_drafts_and_only_real_quarters(commissioner, provider, contract, measures):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        services.statement_draft(actor=provider, contract=contract, period_start=Q4)
    with pytest.raises(ValidationError, match="quarter starting"):
        services.statement_draft(actor=commissioner, contract=contract, period_start=dt.date(2026, 2, 1))


# Agreeing, disputing, locking -------------------------------------------------------------------


def test_the_statement_locks_only_when_both_parties_agree_every_line(statement, commissioner, provider):
    recovery, rate = _lines(statement).values()
    services.line_stance_record(actor=commissioner, line=recovery, stance="agree", expected_version=1)
    services.statement_agree_all(actor=commissioner, statement=statement, expected_version=2)
    services.line_stance_record(actor=provider, line=recovery, stance="agree", expected_version=3)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.OPEN  # the provider has not agreed the rate yet
    services.line_stance_record(
        actor=provider, line=rate, stance="dispute", reason="Two detentions were not ours.", expected_version=4
    )
    assert Notification.objects.filter(recipient=commissioner, text__contains="disputed").exists()
    services.line_stance_record(actor=provider, line=rate, stance="agree", expected_version=5)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.LOCKED and statement.locked_at is not None
    assert Notification.objects.filter(recipient=commissioner, text__contains="locked").exists()
    assert LineStance.objects.filter(line__statement=statement).count() == 5  # every stance kept


def test_a_dispute_needs_a_reason_and_a_stale_version_writes_nothing(statement, provider):
    from django.core.exceptions import ValidationError

    from kernel.concurrency import StaleEdit

    line = statement.lines.first()
    with pytest.raises(ValidationError, match="Say why"):
        services.line_stance_record(actor=provider, line=line, stance="dispute", reason=" ", expected_version=1)
    with pytest.raises(StaleEdit):
        services.line_stance_record(actor=provider, line=line, stance="agree", expected_version=7)
    assert not LineStance.objects.exists()


def test_a_refresh_after_a_stance_resets_every_stance_and_keeps_it_in_history(statement, commissioner, provider):
    line = statement.lines.first()
    services.line_stance_record(actor=provider, line=line, stance="agree", expected_version=1)
    assert services.statement_refresh(actor=commissioner, statement=statement, expected_version=2) == 1
    stance = LineStance.objects.get()
    assert stance.reset_at is not None
    views = selectors.line_views(selectors.statement_for_page(statement.pk), exact=True)
    assert all(not v.latest for v in views)


def test_a_locked_statement_never_changes_and_its_page_shows_what_changed_since(
    statement, commissioner, provider, recovery, client_for
):
    services.statement_agree_all(actor=commissioner, statement=statement, expected_version=1)
    services.statement_agree_all(actor=provider, statement=statement, expected_version=2)
    frozen = {line.pk: (line.value, line.judgement) for line in statement.lines.all()}
    # Later data: March's Camden figure is revised down to 0 of 100.
    from outcomes.models import Metric

    Metric.objects.filter(indicator=recovery, area=borough("CMD"), period_start=MAR).update(numerator=0)
    assert {line.pk: (line.value, line.judgement) for line in statement.lines.all()} == frozen
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="locked"):
        services.statement_refresh(actor=commissioner, statement=statement, expected_version=3)
    html = client_for(commissioner).get(f"/commissioning/statements/{statement.pk}/").content.decode()
    assert "Changed since it was agreed" in html and "stands as agreed" in html


# Pages and permissions --------------------------------------------------------------------------


def test_a_provider_disputes_in_the_browser_and_a_bad_dispute_keeps_what_was_typed(statement, provider, client_for):
    client = client_for(provider)
    line = statement.lines.first()
    url = f"/commissioning/statements/{statement.pk}/"
    prefix = f"line-{line.pk}"
    bad = client.post(url, {"form": "stance", "line": line.pk, f"{prefix}-version": 1, f"{prefix}-stance": "dispute"})
    html = bad.content.decode()
    assert bad.status_code == 200 and "There is a problem" in html and "Say why you dispute this line" in html
    good = client.post(
        url,
        {
            "form": "stance",
            "line": line.pk,
            f"{prefix}-version": 1,
            f"{prefix}-stance": "dispute",
            f"{prefix}-reason": "March is missing a week.",
        },
    )
    assert good.status_code == 302
    stale = client.post(url, {"form": "stance", "line": line.pk, f"{prefix}-version": 1, f"{prefix}-stance": "agree"})
    assert "changed while you were looking" in stale.content.decode()


def test_subcontractors_read_but_take_no_stance_and_strangers_get_404(
    statement, contract, subcontractor_org, outsider, client_for, staff
):
    reader = MembershipFactory(organisation=subcontractor_org, role=Role.DATA_SUBMITTER).user
    contract.providers.create(organisation=subcontractor_org, role=ProviderRole.SUBCONTRACTOR)
    url = f"/commissioning/statements/{statement.pk}/"
    assert client_for(reader).get(url).status_code == 200
    assert client_for(reader).post(url, {"form": "agree_all", "all-version": 1}).status_code == 403
    assert client_for(staff).get(url).status_code == 200
    assert client_for(staff).post(url, {"form": "agree_all", "all-version": 1}).status_code == 403
    contract.publishable = True
    contract.save(update_fields=["publishable"])
    for path in (url, f"/commissioning/contracts/{contract.pk}/statements/", f"{url}statement.csv", f"{url}print/"):
        assert client_for(outsider).get(path).status_code == 404
    assert client_for(outsider).get(f"/api/v1/payment-statements/{statement.pk}/").status_code == 404


def test_the_csv_and_print_versions_carry_every_line(statement, commissioner, provider, client_for):
    line = statement.lines.first()
    services.line_stance_record(actor=provider, line=line, stance="dispute", reason="=HYPERLINK(x)", expected_version=1)
    client = client_for(commissioner)
    body = client.get(f"/commissioning/statements/{statement.pk}/statement.csv").content.decode()
    assert body.count("\n") == 3 and "test-detentions" in body and "test-recovery" in body
    assert "'=HYPERLINK(x)" in body  # a typed reason never runs as a spreadsheet formula
    html = client.get(f"/commissioning/statements/{statement.pk}/print/").content.decode()
    assert "Detentions per 100,000 (test)" in html and "Recovery rate (test)" in html


# API ---------------------------------------------------------------------------------------------


def test_the_api_drafts_and_takes_stances_against_the_etag(commissioner, provider, contract, measures, client_for):
    api = client_for(commissioner)
    made = api.post("/api/v1/payment-statements/", {"contract": contract.pk, "period_start": "2026-01-01"})
    assert made.status_code == 201 and made["ETag"] == '"v1"'
    body = made.json()
    line = body["lines"][0]["id"]
    stance_url = f"/api/v1/payment-statements/{body['id']}/lines/{line}/stance/"
    provider_api = client_for(provider)
    assert provider_api.post(stance_url, {"stance": "agree"}).status_code == 428
    assert provider_api.post(stance_url, {"stance": "agree"}, HTTP_IF_MATCH='"v9"').status_code == 412
    agreed = provider_api.post(stance_url, {"stance": "agree"}, HTTP_IF_MATCH='"v1"')
    assert agreed.status_code == 200 and agreed["ETag"] == '"v2"'
    [row] = [r for r in agreed.json()["lines"] if r["id"] == line]
    assert [s["stance"] for s in row["stances"].values()] == ["agree"]
    listed = api.get(f"/api/v1/payment-statements/?contract={contract.pk}").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "open"
    said = provider_api.post(
        f"/api/v1/payment-statements/{body['id']}/lines/{line}/messages/", {"text": "Happy with this one."}
    )
    assert said.status_code == 201
    assert Notification.objects.filter(recipient=commissioner, text__contains="Happy with this one").exists()


def test_the_provider_cannot_draft_through_the_api(provider, contract, measures, client_for):
    response = client_for(provider).post(
        "/api/v1/payment-statements/", {"contract": contract.pk, "period_start": "2026-01-01"}
    )
    assert response.status_code == 403
    assert not PaymentStatement.objects.exists()


def test_the_performance_page_uses_the_same_rule(contract, measures):
    rows = contract_selectors.contract_performance(contract, list(contract_selectors.contract_measures(contract)))
    labels = {r.measure.indicator.code: r.judgement_label for r in rows}
    # The latest recovery month (April, 99 of 100 in Camden alone) clears 20% by its whole interval.
    assert labels == {"test-recovery": "Target met", "test-detentions": "Target met"}


# Query counts ------------------------------------------------------------------------------------


@pytest.fixture(params=[2, 8], ids=["2-lines", "8-lines"])
def busy_statement(request, commissioner, provider, contract):
    """A statement of `n` lines, each disputed by the provider with a message in its thread."""
    from outcomes.models import PeriodType

    for i in range(request.param):
        indicator = IndicatorFactory(
            code=f"qs-{i}", name=f"Indicator {i}", definition="x", measure=Measure.PROPORTION, polarity=H,
            period_type=PeriodType.MONTH,
        )  # fmt: skip
        for month in (JAN, FEB, MAR):
            add_metric(indicator, borough("CMD"), month, 40, 100)
            add_metric(indicator, borough("ISL"), month, 40, 100)
        contract_services.measure_create(
            actor=None, contract=contract, indicator=indicator, target=Decimal(30), share_bp=100
        )
    statement = services.statement_draft(actor=commissioner, contract=contract, period_start=Q4)
    for line in statement.lines.all():
        statement.refresh_from_db()
        services.line_stance_record(
            actor=provider, line=line, stance="dispute", reason="Check it.", expected_version=statement.version
        )
        services.line_message_post(actor=commissioner, line=line, text="Looking.")
    return statement


def test_the_statement_page_runs_a_fixed_number_of_queries(
    client_for, commissioner, busy_statement, django_assert_num_queries
):
    from tests.commissioning.test_query_counts import SIGNED_IN

    client = client_for(commissioner)
    url = f"/commissioning/statements/{busy_statement.pk}/"
    client.get(url)  # once first: what the process loads once (content types and such) is not the page's
    # + the statement with its contract and drafter, the contract's provider rows and their
    # organisations, its boroughs, the lines, their stances (with organisations and users), their
    # messages (with organisations and authors), the boroughs the user commissions (exact figures
    # or not), the live measures and their figures (one SQL) for "what changed", and the
    # statement's history events (refreshes).
    with django_assert_num_queries(SIGNED_IN + 11):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("Looking.") == busy_statement.lines.count()


def test_the_statement_api_runs_a_fixed_number_of_queries(
    client_for, provider, busy_statement, django_assert_num_queries
):
    from tests.commissioning.test_query_counts import SIGNED_IN

    client = client_for(provider)
    url = f"/api/v1/payment-statements/{busy_statement.pk}/"
    client.get(url)  # once first, as above
    # The same number at 2 and 8 lines: the session and user, the user's memberships, the
    # statement with its prefetches (providers, boroughs, lines, stances, messages), the boroughs the
    # user commissions, and the live figures (one SQL); no page header, no history events.
    with django_assert_num_queries(SIGNED_IN + 7):
        response = client.get(url)
    assert response.status_code == 200
