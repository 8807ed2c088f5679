"""The gap measures' write sends its columns as PostgreSQL array text (outcomes.aggregation.inequality._array).

What the server reads back must be what the former write stored: each figure the float's repr as
a decimal rounded to six places, halves away from zero (Decimal(repr(x)).quantize(..., ROUND_HALF_UP)),
and every text, date, integer and flag exactly as given, NULL for None.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes.aggregation.inequality import _array, _finite

pytestmark = pytest.mark.django_db

SIX = Decimal("0.000001")


def server(sql: str, value: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        return cursor.fetchone()[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e17, max_value=1e17)), min_size=1, max_size=30))
@example([0.0000005, -0.0000005, 0.0000015, 2.5e-07, 1e-20, 123456789.1234565, -0.0, 1e16, None])
def test_figures_are_read_back_as_the_decimal_of_their_repr_rounded_half_away_from_zero(values):
    got = server("SELECT array_agg(round(x, 6)) FROM unnest(%s::numeric[]) AS x", _array(values))
    assert got == [None if v is None else Decimal(repr(v)).quantize(SIX, rounding=ROUND_HALF_UP) for v in values]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_characters="\x00"))), min_size=1))
@example(['a"b', "back\\slash", "", "NULL", "{x,y}", " spaced ", None])
def test_texts_are_read_back_exactly(values):
    assert server("SELECT %s::text[]", _array(values)) == values


def test_dates_integers_flags_and_all_null_columns():
    days = [dt.date(2026, 1, 1), None, dt.date(1999, 12, 31)]
    assert server("SELECT %s::date[]", _array(days)) == days
    assert server("SELECT %s::bigint[]", _array([1, None, 2**40])) == [1, None, 2**40]
    assert server("SELECT %s::boolean[]", _array([True, False, None])) == [True, False, None]
    assert server("SELECT %s::numeric[]", _array([None, None])) == [None, None]


def test_what_is_no_number_is_null():
    assert [_finite(v) for v in (float("nan"), float("inf"), float("-inf"), None, 1.5)] == [None, None, None, None, 1.5]


# Both bases from one read (outcomes.aggregation.inequality._measure): the provisional figures of a
# key are its provisional rows and its approved rows that are also provisional; when those are
# exactly its approved rows the measures are computed once and written for both.
def _record(basis, also, group, value, published=True):
    return (1, 7, dt.date(2026, 1, 1), "sex", basis == "approved", also, group, value, value - 1, value + 1, 100.0,
            published, "higher", None)  # fmt: skip


def _expected(records, basis):
    from outcomes.aggregation.inequality import _figures
    from outcomes.statistics import GroupFigure, inequality

    order = {"female": 0, "male": 1, "not-known": 2}
    chosen = sorted(
        (r for r in records if (r[4] if basis == "approved" else (not r[4] or r[5]))), key=lambda r: order[r[6]]
    )
    if not chosen:
        return None
    figures = [GroupFigure(r[6], r[7], r[8], r[9], r[10], r[11]) for r in chosen]
    return (1, 7, dt.date(2026, 1, 1), basis, "sex", *_figures(inequality(figures, "higher", "sex")))


@pytest.mark.parametrize(
    "records",
    [
        # every row approved and also provisional: one computation, the same figures on both bases
        [_record("approved", True, "male", 20.0), _record("approved", True, "female", 30.0)],
        # a submitted value changed the men's figure: the provisional basis has its own row
        [
            _record("approved", True, "female", 30.0),
            _record("approved", False, "male", 20.0),
            _record("provisional", False, "male", 40.0),
        ],
        # approved rows none of which is provisional, and no provisional rows: approved only
        [_record("approved", False, "female", 30.0), _record("approved", False, "male", 20.0)],
        # provisional rows only
        [_record("provisional", False, "female", 30.0), _record("provisional", False, "male", 20.0)],
        # a group only provisional, beside approved rows that are also provisional
        [
            _record("approved", True, "female", 30.0),
            _record("approved", True, "male", 20.0),
            _record("provisional", False, "not-known", 50.0),
        ],
        # a group published on one basis only
        [
            _record("approved", True, "female", 30.0),
            _record("approved", False, "male", 20.0, published=False),
            _record("provisional", False, "male", 25.0),
        ],
    ],
)
def test_each_basis_gets_the_measures_of_its_own_rows(records):
    from outcomes.aggregation.inequality import _measure

    out = []
    _measure(records, out, {})
    expected = [e for e in (_expected(records, "approved"), _expected(records, "provisional")) if e is not None]
    assert out == expected
