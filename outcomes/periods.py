"""Periods: months, quarters (calendar and NHS financial) and years, their labels, and the
arithmetic every app does on them. One module, so that "the period after", "the last day of"
and "the quarter containing" mean one thing everywhere.

A period is stored as its first day (`period_start`) with its indicator's `PeriodType`.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import models


class PeriodType(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


PERIOD_PATTERNS = {
    PeriodType.MONTH: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    PeriodType.QUARTER: re.compile(r"^(\d{4})-Q([1-4])$"),
    PeriodType.YEAR: re.compile(r"^(\d{4})$"),
}
# The same patterns for PostgreSQL's ~ operator (used by the set-based import).
PERIOD_SQL_PATTERNS = {
    PeriodType.MONTH: r"^\d{4}-(0[1-9]|1[0-2])$",
    PeriodType.QUARTER: r"^\d{4}-Q[1-4]$",
    PeriodType.YEAR: r"^\d{4}$",
}


def period_label(period_type: str, start: dt.date) -> str:
    """2026-04 (month), 2026-Q1 (calendar quarter), 2026 (year)."""
    if period_type == PeriodType.MONTH:
        return f"{start.year:04d}-{start.month:02d}"
    if period_type == PeriodType.QUARTER:
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year:04d}"


def parse_period(period_type: str, text: str) -> dt.date | None:
    """The first day of the period written as `text`, or None when it does not fit the type."""
    match = PERIOD_PATTERNS[PeriodType(period_type)].match(text.strip())
    if not match:
        return None
    year = int(match.group(1))
    if period_type == PeriodType.MONTH:
        return dt.date(year, int(match.group(2)), 1)
    if period_type == PeriodType.QUARTER:
        return dt.date(year, (int(match.group(2)) - 1) * 3 + 1, 1)
    return dt.date(year, 1, 1)


# NHS financial quarters: the quarters of a financial year that starts in April. They begin on
# the same days as calendar quarters (April, July, October, January), so they are stored and
# aggregated by their start date like any quarter; only their names differ: 2025-26 Q1 is
# April to June 2025, 2025-26 Q4 is January to March 2026.
FINANCIAL_QUARTER_PATTERN = re.compile(r"^(\d{4})-(\d{2}) Q([1-4])$")
FINANCIAL_QUARTER_SQL_PATTERN = r"^\d{4}-\d{2} Q[1-4]$"
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def financial_quarter_label(start: dt.date) -> str:
    """2025-26 Q1 for the quarter starting 1 April 2025."""
    year = start.year if start.month >= 4 else start.year - 1
    return f"{year:04d}-{(year + 1) % 100:02d} Q{(start.month - 4) % 12 // 3 + 1}"


def parse_financial_quarter(text: str) -> dt.date | None:
    """The first day of a financial quarter written 2025-26 Q1, or None."""
    match = FINANCIAL_QUARTER_PATTERN.match(" ".join(text.split()).upper())
    if not match:
        return None
    year = int(match.group(1))
    if int(match.group(2)) != (year + 1) % 100:
        return None
    month = 4 + (int(match.group(3)) - 1) * 3
    return dt.date(year + (month > 12), (month - 1) % 12 + 1, 1)


# Arithmetic --------------------------------------------------------------------------------

MONTHS_IN = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has fewer days (31 Aug + 6 = 28/29 Feb)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def next_period(period_type: str, start: dt.date) -> dt.date:
    """The first day of the period after the one starting on `start` (the first day after it)."""
    return add_months(start, MONTHS_IN[PeriodType(period_type)])


def previous_period(period_type: str, start: dt.date) -> dt.date:
    """The first day of the period before the one starting on `start`."""
    return add_months(start, -MONTHS_IN[PeriodType(period_type)])


def last_day(period_type: str, start: dt.date) -> dt.date:
    """The last day of the period starting on `start`."""
    return next_period(period_type, start) - dt.timedelta(days=1)


def period_start_of(period_type: str, day: dt.date) -> dt.date:
    """The first day of the period of a type that contains `day`."""
    months = MONTHS_IN[PeriodType(period_type)]
    return dt.date(day.year, (day.month - 1) // months * months + 1, 1)


def latest_complete_period(period_type: str, today: dt.date) -> dt.date:
    """The start of the last period of this type that has ended before `today`."""
    return previous_period(period_type, period_start_of(period_type, today))


def recent_periods(period_type: str, today: dt.date, count: int) -> list[dt.date]:
    """The last `count` complete periods of a type before `today`, oldest first."""
    periods = [latest_complete_period(period_type, today)]
    while len(periods) < count:
        periods.append(previous_period(period_type, periods[-1]))
    return list(reversed(periods))


def months_from(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months, start = [], period_start_of(PeriodType.MONTH, first)
    while start <= last:
        months.append(start)
        start = next_period(PeriodType.MONTH, start)
    return months


# Reading a period written in any form -----------------------------------------------------


def parse_any_period(text: str) -> tuple[str, dt.date] | None:
    """(period type, start) for a period written in any of the four forms, or None.

    A financial quarter (2025-26 Q1) is a quarter: it starts on a calendar quarter's first day.
    """
    text = text.strip()
    financial = parse_financial_quarter(text)
    if financial is not None:
        return str(PeriodType.QUARTER), financial
    for period_type, pattern in PERIOD_PATTERNS.items():
        if pattern.match(text):
            start = parse_period(period_type, text)
            if start is not None:
                return str(period_type), start
    return None


def period_bounds(text: str) -> tuple[dt.date, dt.date] | None:
    """[start, end) of a period written 2026-04, 2026-Q1, 2025-26 Q1 (financial), 2026 or a date
    2026-04-15; None if neither."""
    parsed = parse_any_period(text)
    if parsed is not None:
        period_type, start = parsed
        return start, next_period(period_type, start)
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day, day + dt.timedelta(days=1)
