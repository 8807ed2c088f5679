"""Demo reporting schedules, with a synthetic submission timeline so completeness tells a story.

Two ICBs expect a monthly talking-therapies return from their trusts: Northbank (north
central London) submits on time; Southriver (south east London) has slipped, sending its
recent months after the deadline and leaving the latest due month incomplete. Every date
and figure here is invented.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from commissioning.schedules import services
from commissioning.schedules.models import ReportingSchedule
from outcomes.models import Indicator, OutcomeValue, PeriodType
from outcomes.periods import last_day, months_from, period_start_of, previous_period
from stakeholders.models import Organisation

NAME = "Talking therapies monthly return (demo)"
INDICATORS = ("tt-recovery", "tt-access", "tt-wait-6wk")
PAIRS = (
    ("NHS North Central London Integrated Care Board", "Northbank Mental Health NHS Foundation Trust"),
    ("NHS South East London Integrated Care Board", "Southriver Mental Health NHS Foundation Trust"),
)
LATE_PROVIDER = "Southriver Mental Health NHS Foundation Trust"
MONTHS = 6
DEADLINE_DAYS = 20


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@transaction.atomic
def seed(today: dt.date | None = None) -> int:
    """Create the demo schedules and their timeline (idempotent). Returns how many schedules were made."""
    if ReportingSchedule.objects.filter(name=NAME).exists():
        return 0
    today = today or timezone.localdate()
    orgs = {o.name: o for o in Organisation.objects.filter(name__in=[n for pair in PAIRS for n in pair])}
    indicators = list(Indicator.objects.filter(code__in=INDICATORS).order_by("code"))
    if len(orgs) != 4 or len(indicators) != len(INDICATORS):
        return 0  # the stakeholders or outcomes demo has not run
    latest = previous_period(PeriodType.MONTH, period_start_of(PeriodType.MONTH, today))
    first = latest
    for _ in range(MONTHS - 1):
        first = previous_period(PeriodType.MONTH, first)
    made = 0
    touched: set[tuple[int, str]] = set()
    for commissioner_name, provider_name in PAIRS:
        provider = orgs[provider_name]
        boroughs = list(provider.boroughs.filter(level="borough").order_by("name"))
        schedule = services.schedule_create(
            actor=None,
            commissioner=orgs[commissioner_name],
            provider=provider,
            name=NAME,
            period_type=PeriodType.MONTH,
            first_period=first,
            indicators=indicators,
            boroughs=boroughs,
            deadline_days=DEADLINE_DAYS,
            reminder_days=5,
        )
        made += 1
        due = [p for p in months_from(first, latest) if schedule.deadline(p) < today]
        values = OutcomeValue.objects.filter(
            organisation=provider, indicator__in=indicators, borough__in=boroughs, period_start__in=due
        ).order_by("period_start", "indicator_id", "borough_id")
        late = provider_name == LATE_PROVIDER
        for n, value in enumerate(values):
            end = last_day(PeriodType.MONTH, value.period_start)
            recent = due.index(value.period_start) >= len(due) - 3
            if late and recent:
                # After the deadline: 3 to 9 days late.
                when = _at(schedule.deadline(value.period_start) + dt.timedelta(days=3 + n % 7))
            else:
                when = _at(end + dt.timedelta(days=8 + n % 10))
            OutcomeValue.objects.filter(pk=value.pk).update(submitted_at=when)
        if late and due:
            # The latest due month: two boroughs never sent theirs.
            gone = OutcomeValue.objects.filter(
                organisation=provider, indicator__in=indicators, borough__in=boroughs[:2], period_start=due[-1]
            )
            touched |= {(v.indicator_id, v.period_start.isoformat()) for v in gone}
            gone.delete()
    # The history keeps, at each change, the version replaced (outcomes.OutcomeValue): give those
    # copies the same synthetic submission times, or the demo's own approvals would read as late.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE outcomes_outcomevalueevent e SET submitted_at = v.submitted_at"
            " FROM outcomes_outcomevalue v WHERE e.pgh_obj_id = v.id AND v.organisation_id = ANY(%s)"
            " AND v.indicator_id = ANY(%s) AND e.submitted_at > v.submitted_at",
            [[orgs[p].pk for _, p in PAIRS], [i.pk for i in indicators]],
        )
    if touched:
        from outcomes.aggregation import metrics_recompute_cells

        metrics_recompute_cells(sorted(touched))
    services.schedule_reminders_send(today=today)
    return made
