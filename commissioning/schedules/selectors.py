"""Reads about reporting schedules: the schedules a person may see, and completeness.

Completeness counts *expected cells*: every (indicator, borough, period) of an active
schedule whose deadline has passed. A cell is

- **received** when the provider's value for it exists now and is not rejected;
- **on time** when it is received and, at the end of the deadline day (London time), a
  value for it was already in and not rejected then.

"Then" is read from the value's history (``OutcomeValueEvent``, which stores at each change
the version it replaces): the state at the deadline is the version replaced by the first
change after it, or the current row when nothing changed since. So a correction after the
deadline keeps an on-time value on time; an approved value amended later stays on time; a
value rejected before the deadline and resubmitted after it is received but late; a value
rejected now is not received. All in one SQL statement (docs/commissioning.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from commissioning.schedules.models import ReportingSchedule, ScheduleReminder
from commissioning.schedules.permissions import CompletenessScope, visible_schedules
from outcomes.models import Indicator, period_label
from stakeholders.models import Area, Organisation, User

DIMENSIONS = ("provider", "borough", "indicator", "period")


def schedules_for(user: User) -> QuerySet[ReportingSchedule]:
    """The schedules a person may see, with what the list shows."""
    return (
        visible_schedules(user)
        .select_related("provider", "commissioner")
        .prefetch_related(
            Prefetch("indicators", queryset=Indicator.objects.order_by("name")),
            Prefetch("boroughs", queryset=Area.objects.order_by("name")),
        )
        .order_by("provider__name", "name", "pk")
    )


def recent_reminders(schedule: ReportingSchedule, limit: int = 12) -> list[ScheduleReminder]:
    return list(ScheduleReminder.objects.filter(schedule=schedule).order_by("-sent_at", "-pk")[:limit])


@dataclass(frozen=True)
class Filters:
    schedule: int | None = None
    provider: int | None = None
    borough: int | None = None
    indicator: int | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None


@dataclass
class Tally:
    key: Any
    label: str
    expected: int = 0
    received: int = 0
    on_time: int = 0
    sort: Any = None

    @property
    def late(self) -> int:
        return self.received - self.on_time

    @property
    def missing(self) -> int:
        return self.expected - self.received

    @property
    def received_rate(self) -> float | None:
        return 100 * self.received / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return 100 * self.on_time / self.expected if self.expected else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "expected": self.expected,
            "received": self.received,
            "on_time": self.on_time,
            "late": self.late,
            "missing": self.missing,
            "received_percent": None if self.received_rate is None else round(self.received_rate, 1),
            "on_time_percent": None if self.on_time_rate is None else round(self.on_time_rate, 1),
        }


@dataclass
class Completeness:
    as_of: dt.datetime
    total: Tally
    by: dict[str, list[Tally]] = field(default_factory=dict)


# The expected cells, judged. Named parameters: today, now, tz, the filters and the scope.
CELLS_SQL = """
WITH sched AS (
    SELECT s.id, s.provider_id, s.period_type, s.first_period, s.deadline_days,
           CASE s.period_type WHEN 'month' THEN interval '1 month'
                              WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END AS step
    FROM commissioning_reportingschedule s
    WHERE s.is_active AND (%(provider)s::bigint IS NULL OR s.provider_id = %(provider)s::bigint)
      AND (%(schedule)s::bigint IS NULL OR s.id = %(schedule)s::bigint)
      AND (%(everything)s OR s.provider_id = ANY(%(providers)s::bigint[])
           OR EXISTS (SELECT 1 FROM commissioning_scheduleborough b
                      WHERE b.schedule_id = s.id AND b.borough_id = ANY(%(boroughs)s::bigint[])))
), periods AS (
    SELECT sc.id AS schedule_id, sc.provider_id, sc.period_type, p::date AS period_start,
           ((p + sc.step)::date - 1 + sc.deadline_days) AS deadline
    FROM sched sc
    CROSS JOIN LATERAL generate_series(sc.first_period::timestamp, %(today)s::timestamp, sc.step) AS p
    WHERE ((p + sc.step)::date - 1 + sc.deadline_days) < %(today)s::date
      AND (%(period_from)s::date IS NULL OR p::date >= %(period_from)s::date)
      AND (%(period_to)s::date IS NULL OR p::date <= %(period_to)s::date)
), cells AS (
    SELECT pe.schedule_id, pe.provider_id, pe.period_type, pe.period_start, pe.deadline,
           si.indicator_id, sb.borough_id,
           ((pe.deadline + 1)::timestamp AT TIME ZONE %(tz)s) AS cutoff
    FROM periods pe
    JOIN commissioning_scheduleindicator si ON si.schedule_id = pe.schedule_id
    JOIN commissioning_scheduleborough sb ON sb.schedule_id = pe.schedule_id
    WHERE (%(indicator)s::bigint IS NULL OR si.indicator_id = %(indicator)s::bigint)
      AND (%(borough)s::bigint IS NULL OR sb.borough_id = %(borough)s::bigint)
      AND (%(everything)s OR pe.provider_id = ANY(%(providers)s::bigint[])
           OR sb.borough_id = ANY(%(boroughs)s::bigint[]))
), judged AS (
    SELECT c.*, v.id AS value_id, v.status AS value_status, v.submitted_at,
           (v.id IS NOT NULL AND v.status <> 'rejected') AS received,
           (v.id IS NOT NULL AND v.status <> 'rejected'
            AND COALESCE(ev.submitted_at, v.submitted_at) < c.cutoff
            AND COALESCE(ev.status, v.status) <> 'rejected') AS on_time
    FROM cells c
    LEFT JOIN outcomes_outcomevalue v
      ON v.organisation_id = c.provider_id AND v.indicator_id = c.indicator_id
     AND v.borough_id = c.borough_id AND v.period_start = c.period_start AND v.population_group = ''
    LEFT JOIN LATERAL (
        SELECT e.status, e.submitted_at FROM outcomes_outcomevalueevent e
        WHERE e.pgh_obj_id = v.id AND e.pgh_created_at >= c.cutoff
        ORDER BY e.pgh_created_at, e.pgh_id LIMIT 1
    ) ev ON v.id IS NOT NULL
)
"""

SUMMARY_SQL = (
    CELLS_SQL
    + """
SELECT GROUPING(provider_id) = 0, GROUPING(borough_id) = 0, GROUPING(indicator_id) = 0,
       GROUPING(period_type, period_start) = 0,
       provider_id, borough_id, indicator_id, period_type, period_start,
       count(*), count(*) FILTER (WHERE received), count(*) FILTER (WHERE on_time)
FROM judged
GROUP BY GROUPING SETS ((), (provider_id), (borough_id), (indicator_id), (period_type, period_start))
"""
)

CELL_ROWS_SQL = (
    CELLS_SQL
    + """
SELECT j.provider_id, o.name, j.borough_id, a.code, a.name, j.indicator_id, i.code, i.name,
       j.period_type, j.period_start, j.deadline, j.received, j.on_time, j.value_status, j.submitted_at
FROM judged j
JOIN stakeholders_organisation o ON o.id = j.provider_id
JOIN stakeholders_area a ON a.id = j.borough_id
JOIN outcomes_indicator i ON i.id = j.indicator_id
ORDER BY o.name, j.period_start, i.code, a.name
"""
)


def _params(scope: CompletenessScope, filters: Filters, now: dt.datetime) -> dict[str, Any]:
    return {
        "today": timezone.localtime(now).date(),
        "tz": settings.TIME_ZONE,
        "everything": scope.everything,
        "providers": list(scope.provider_ids),
        "boroughs": list(scope.borough_ids),
        "schedule": filters.schedule,
        "provider": filters.provider,
        "borough": filters.borough,
        "indicator": filters.indicator,
        "period_from": filters.period_from,
        "period_to": filters.period_to,
    }


def completeness(
    scope: CompletenessScope, filters: Filters | None = None, *, now: dt.datetime | None = None
) -> Completeness:
    """Expected, received and on-time counts in total and by provider, borough, indicator and period.

    Four queries: the counts (one statement, grouping sets) and the names of the providers,
    boroughs and indicators they mention.
    """
    now = now or timezone.now()
    filters = filters or Filters()
    with connection.cursor() as cursor:
        cursor.execute(SUMMARY_SQL, _params(scope, filters, now))
        rows = cursor.fetchall()
    result = Completeness(as_of=now, total=Tally(key=None, label="All expected returns"))
    groups: dict[str, list[tuple]] = {d: [] for d in DIMENSIONS}
    for by_p, by_b, by_i, by_per, provider, borough, indicator, ptype, pstart, expected, received, on_time in rows:
        counts = (expected, received, on_time)
        if by_p:
            groups["provider"].append((provider, *counts))
        elif by_b:
            groups["borough"].append((borough, *counts))
        elif by_i:
            groups["indicator"].append((indicator, *counts))
        elif by_per:
            groups["period"].append(((ptype, pstart), *counts))
        else:
            result.total = Tally(None, "All expected returns", expected, received, on_time)
    names = {
        "provider": dict(
            Organisation.objects.filter(pk__in=[r[0] for r in groups["provider"]]).values_list("pk", "name")
        ),
        "borough": dict(Area.objects.filter(pk__in=[r[0] for r in groups["borough"]]).values_list("pk", "name")),
        "indicator": {
            pk: (name, code)
            for pk, name, code in Indicator.objects.filter(pk__in=[r[0] for r in groups["indicator"]]).values_list(
                "pk", "name", "code"
            )
        },
    }
    result.by["provider"] = sorted(
        (Tally(k, names["provider"].get(k, "?"), e, r, o) for k, e, r, o in groups["provider"]), key=lambda t: t.label
    )
    result.by["borough"] = sorted(
        (Tally(k, names["borough"].get(k, "?"), e, r, o) for k, e, r, o in groups["borough"]), key=lambda t: t.label
    )
    result.by["indicator"] = sorted(
        (Tally(names["indicator"][k][1], names["indicator"][k][0], e, r, o) for k, e, r, o in groups["indicator"]),
        key=lambda t: t.label,
    )
    result.by["period"] = sorted(
        (
            Tally(period_label(ptype, start), period_label(ptype, start), e, r, o, sort=(start, ptype))
            for (ptype, start), e, r, o in groups["period"]
        ),
        key=lambda t: t.sort,
    )
    return result


@dataclass(frozen=True)
class Cell:
    provider_id: int
    provider: str
    borough_id: int
    borough_code: str
    borough: str
    indicator_id: int
    indicator_code: str
    indicator: str
    period_type: str
    period_start: dt.date
    deadline: dt.date
    received: bool
    on_time: bool
    value_status: str | None
    submitted_at: dt.datetime | None

    @property
    def period(self) -> str:
        return period_label(self.period_type, self.period_start)

    @property
    def state(self) -> str:
        if self.on_time:
            return "on time"
        return "late" if self.received else "missing"


def completeness_cells(
    scope: CompletenessScope, filters: Filters | None = None, *, now: dt.datetime | None = None
) -> Iterable[Cell]:
    """Every expected cell with how it stands (for the CSV and the API), in one query."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(CELL_ROWS_SQL, _params(scope, filters or Filters(), now))
        for row in cursor.fetchall():
            yield Cell(*row)
