"""Shared pieces of the reporting-schedule tests: a schedule, and a clock for the value history.

The value history (OutcomeValueEvent) is stamped by PostgreSQL's now(), which is the test
transaction's start and ignores time-machine. `at(when)` travels Python's clock to `when`
and stamps the history rows written meanwhile with `when` too, so a hand-built timeline
(submitted on 10 February, corrected on 1 March...) reads as it would have happened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.db.models import Max

from commissioning.schedules import services
from outcomes import services as outcome_services
from outcomes.models import Door, OutcomeValue, Submission
from stakeholders.models import Area

LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def borough(short_code: str) -> Area:
    return Area.objects.get(short_code=short_code, level="borough")


@contextlib.contextmanager
def at(when: dt.datetime):
    Event = OutcomeValue.pgh_event_model
    before = Event.objects.aggregate(m=Max("pgh_id"))["m"] or 0
    with time_machine.travel(when, tick=False):
        yield
    Event.objects.filter(pgh_id__gt=before).update(pgh_created_at=when)


def submit(
    actor, organisation, rows: list[tuple[str, str, str, int, int | None]], *, amend: bool = False
) -> Submission:
    """Submit (indicator code, borough code, period, numerator, denominator) rows through the real import."""
    submission = outcome_services.submission_create(
        actor=actor,
        organisation=organisation,
        door=Door.API,
        rows=[
            {
                "indicator_code": code,
                "borough_code": borough(short).code,
                "period": period,
                "numerator": str(num),
                "denominator": "" if den is None else str(den),
            }
            for code, short, period, num, den in rows
        ],
        amend_approved=amend,
        run_inline=True,
    )
    assert submission.status == "completed" and submission.rejected_count == 0, list(
        submission.issues.values_list("row_number", "code", "message")
    )
    return submission


def make_schedule(commissioner, commissioning_org, provider_org, indicators, boroughs, **overrides):
    values = {
        "actor": commissioner,
        "commissioner": commissioning_org,
        "provider": provider_org,
        "name": "Monthly return (test)",
        "period_type": indicators[0].period_type,
        "first_period": dt.date(2026, 1, 1),
        "indicators": indicators,
        "boroughs": boroughs,
        "deadline_days": 20,
        "reminder_days": 5,
    }
    values.update(overrides)
    return services.schedule_create(**values)
