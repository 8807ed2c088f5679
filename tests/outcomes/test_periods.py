"""Period arithmetic (outcomes.periods): one meaning of "the period after", "the last day of" and
"the period containing", checked at the edges where they used to differ."""

from __future__ import annotations

import datetime as dt

from outcomes.periods import (
    add_months,
    last_day,
    latest_complete_period,
    months_from,
    next_period,
    period_bounds,
    period_start_of,
    previous_period,
    recent_periods,
)

D = dt.date


def test_the_period_after_and_the_last_day_of_a_period():
    assert next_period("month", D(2026, 12, 1)) == D(2027, 1, 1)
    assert last_day("month", D(2028, 2, 1)) == D(2028, 2, 29)
    assert next_period("quarter", D(2026, 10, 1)) == D(2027, 1, 1)
    assert last_day("quarter", D(2026, 1, 1)) == D(2026, 3, 31)
    assert last_day("year", D(2026, 1, 1)) == D(2026, 12, 31)
    assert previous_period("quarter", D(2026, 1, 1)) == D(2025, 10, 1)


def test_the_period_containing_a_day_and_the_last_complete_ones():
    assert period_start_of("quarter", D(2026, 12, 7)) == D(2026, 10, 1)
    assert latest_complete_period("month", D(2026, 12, 7)) == D(2026, 11, 1)
    assert latest_complete_period("quarter", D(2026, 10, 1)) == D(2026, 7, 1)
    assert recent_periods("quarter", D(2026, 12, 7), 3) == [D(2026, 1, 1), D(2026, 4, 1), D(2026, 7, 1)]
    assert months_from(D(2026, 11, 15), D(2027, 1, 1)) == [D(2026, 11, 1), D(2026, 12, 1), D(2027, 1, 1)]


def test_months_added_to_a_day_keep_the_day_or_the_months_last():
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2027, 8, 31), 6) == D(2028, 2, 29)
    assert add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)


def test_bounds_of_a_period_written_in_any_form():
    assert period_bounds("2025-26 Q4") == (D(2026, 1, 1), D(2026, 4, 1))
    assert period_bounds("2026-Q2") == (D(2026, 4, 1), D(2026, 7, 1))
    assert period_bounds("2026-04") == (D(2026, 4, 1), D(2026, 5, 1))
    assert period_bounds(" 2026 ") == (D(2026, 1, 1), D(2027, 1, 1))
    assert period_bounds("2026-04-15") == (D(2026, 4, 15), D(2026, 4, 16))
    assert period_bounds("April") is None
