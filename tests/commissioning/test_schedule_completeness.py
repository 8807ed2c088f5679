"""Completeness and timeliness counted exactly, against hand-built timelines.

The schedule expects one provider's monthly values for Camden from January 2026, due 20 days
after each month ends (January's by 20 February: on time until midnight London time). Counted
on 1 June 2026, four months are due (January to April); May's deadline (20 June) has not passed.
"""

from __future__ import annotations

import pytest

from commissioning.schedules import permissions, selectors
from outcomes import services as outcome_services
from outcomes.models import Measure, OutcomeValue, PeriodType, Polarity
from tests.commissioning.schedules_helpers import at, borough, london, make_schedule, submit
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db

NOW = london(2026, 6, 1, 9)


@pytest.fixture
def recovery(db):
    return IndicatorFactory(
        code="sc-recovery", name="Recovery (test)", definition="d", measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER, period_type=PeriodType.MONTH,
    )  # fmt: skip


@pytest.fixture
def access(db):
    return IndicatorFactory(
        code="sc-access", name="Access (test)", definition="d", measure=Measure.COUNT,
        polarity=Polarity.HIGHER_BETTER, period_type=PeriodType.MONTH,
    )  # fmt: skip


def _value(code: str, period_start: str) -> OutcomeValue:
    return OutcomeValue.objects.get(indicator__code=code, period_start=period_start)


@pytest.fixture
def timeline(commissioner, commissioning_org, provider, provider_org, recovery, access):
    schedule = make_schedule(commissioner, commissioning_org, provider_org, [recovery, access], [borough("CMD")])
    # Recovery ----------------------------------------------------------------------------
    # January: in on time, corrected after the deadline (a late correction): on time.
    with at(london(2026, 2, 10, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-01", 40, 100)])
    with at(london(2026, 3, 1, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-01", 42, 100)])
    # February: in on time, approved, then amended after approval and the deadline: on time.
    with at(london(2026, 3, 5, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-02", 50, 100)])
    with at(london(2026, 3, 10, 12)):
        outcome_services.outcome_values_review(
            actor=commissioner, value_ids=[_value("sc-recovery", "2026-02-01").pk], status="approved"
        )
    with at(london(2026, 4, 2, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-02", 51, 100)], amend=True)
    # March: in, rejected before the deadline (20 April), sent again after it: received, late.
    with at(london(2026, 4, 5, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-03", 30, 100)])
    with at(london(2026, 4, 10, 12)):
        outcome_services.outcome_values_review(
            actor=commissioner,
            value_ids=[_value("sc-recovery", "2026-03-01").pk],
            status="rejected",
            message="Wrong borough",
        )
    with at(london(2026, 4, 25, 12)):
        submit(provider, provider_org, [("sc-recovery", "CMD", "2026-03", 31, 100)])
    # April: never sent: missing.
    # Access ------------------------------------------------------------------------------
    # January: first sent after the deadline: late.
    with at(london(2026, 2, 25, 12)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-01", 12, None)])
    # February: rejected, then sent again before the deadline: on time.
    with at(london(2026, 3, 1, 12)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-02", 10, None)])
    with at(london(2026, 3, 5, 12)):
        outcome_services.outcome_values_review(
            actor=commissioner,
            value_ids=[_value("sc-access", "2026-02-01").pk],
            status="rejected",
            message="Wrong borough",
        )
    with at(london(2026, 3, 15, 12)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-02", 11, None)])
    # March: sent, then rejected and never sent again: not received.
    with at(london(2026, 4, 1, 12)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-03", 9, None)])
    with at(london(2026, 4, 10, 12)):
        outcome_services.outcome_values_review(
            actor=commissioner,
            value_ids=[_value("sc-access", "2026-03-01").pk],
            status="rejected",
            message="Wrong borough",
        )
    # April: sent at 23:30 on the deadline day (20 May, British Summer Time): on time.
    with at(london(2026, 5, 20, 23, 30)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-04", 14, None)])
    # May: sent, but its deadline (20 June) has not passed: not counted yet.
    with at(london(2026, 6, 1, 8)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-05", 15, None)])
    return schedule


def _counts(tally) -> tuple[int, int, int]:
    return tally.expected, tally.received, tally.on_time


def test_each_hand_built_case_counts_as_the_rule_says(timeline, commissioner):
    result = selectors.completeness(permissions.completeness_scope(commissioner), now=NOW)
    assert _counts(result.total) == (8, 6, 4)
    assert {t.label: _counts(t) for t in result.by["period"]} == {
        "2026-01": (2, 2, 1),  # recovery corrected late but first in on time; access first in late
        "2026-02": (2, 2, 2),  # amended approved value; rejected then resubmitted in time
        "2026-03": (2, 1, 0),  # rejected then resubmitted late; rejected and never resubmitted
        "2026-04": (2, 1, 1),  # missing; in at 23:30 on the deadline day
    }
    assert [t.label for t in result.by["period"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert {t.key: _counts(t) for t in result.by["indicator"]} == {"sc-recovery": (4, 3, 2), "sc-access": (4, 3, 2)}
    assert [(t.label, _counts(t)) for t in result.by["provider"]] == [("Provider Trust (test)", (8, 6, 4))]
    assert [(t.label, _counts(t)) for t in result.by["borough"]] == [("Camden", (8, 6, 4))]


def test_every_cell_is_listed_with_its_state(timeline, commissioner):
    cells = list(selectors.completeness_cells(permissions.completeness_scope(commissioner), now=NOW))
    states = {(c.indicator_code, c.period): c.state for c in cells}
    assert states == {
        ("sc-recovery", "2026-01"): "on time",
        ("sc-recovery", "2026-02"): "on time",
        ("sc-recovery", "2026-03"): "late",
        ("sc-recovery", "2026-04"): "missing",
        ("sc-access", "2026-01"): "late",
        ("sc-access", "2026-02"): "on time",
        ("sc-access", "2026-03"): "missing",
        ("sc-access", "2026-04"): "on time",
    }
    rejected = next(c for c in cells if (c.indicator_code, c.period) == ("sc-access", "2026-03"))
    assert rejected.value_status == "rejected"


def test_a_minute_after_midnight_on_the_day_after_the_deadline_is_late(
    commissioner, commissioning_org, provider, provider_org, access
):
    make_schedule(
        commissioner,
        commissioning_org,
        provider_org,
        [access],
        [borough("CMD")],
        first_period=london(2026, 4, 1).date(),
    )
    with at(london(2026, 5, 21, 0, 1)):
        submit(provider, provider_org, [("sc-access", "CMD", "2026-04", 14, None)])
    result = selectors.completeness(permissions.completeness_scope(commissioner), now=NOW)
    assert _counts(result.total) == (1, 1, 0)


def test_the_counts_move_with_the_clock_and_the_filters(timeline, commissioner, recovery, access):
    scope = permissions.completeness_scope(commissioner)
    # On 21 May April's deadline (20 May) has just passed; on 20 May it has not.
    assert _counts(selectors.completeness(scope, now=london(2026, 5, 20, 12)).total) == (6, 5, 3)
    assert _counts(selectors.completeness(scope, now=london(2026, 5, 21, 12)).total) == (8, 6, 4)
    only = selectors.Filters(
        indicator=access.pk, period_from=london(2026, 2, 1).date(), period_to=london(2026, 3, 1).date()
    )
    assert _counts(selectors.completeness(scope, only, now=NOW).total) == (2, 1, 1)


def test_a_provider_sees_itself_and_a_commissioner_only_the_boroughs_they_commission(
    timeline, provider, outsider, service_user, staff
):
    assert _counts(selectors.completeness(permissions.completeness_scope(provider), now=NOW).total) == (8, 6, 4)
    assert _counts(selectors.completeness(permissions.completeness_scope(staff), now=NOW).total) == (8, 6, 4)
    # A commissioner role in a provider trust commissions nothing; a service user submits nothing.
    assert permissions.completeness_scope(outsider) is None
    assert permissions.completeness_scope(service_user) is None


def test_a_schedule_no_longer_in_use_expects_nothing(timeline, commissioner):
    from commissioning.schedules import services

    services.schedule_update(actor=commissioner, schedule=timeline, expected_version=timeline.version, is_active=False)
    assert _counts(selectors.completeness(permissions.completeness_scope(commissioner), now=NOW).total) == (0, 0, 0)
