"""The gap measures are computed in SQL (outcomes.aggregation.inequality): held here to the Python
reference, `outcomes.statistics.inequality`, which the hand-computed cases in
test_aggregation_groups.py pin down.

By hypothesis: for any one key's groups (values with ties, unpublished and "not known" groups,
missing limits and populations, every breakdown and polarity), the statement names the same best
and worst groups and gives the same figures, to the six places stored. Then, over stored metric
rows, which rows each basis reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes.aggregation.inequality import FIGURES, measures_sql, metrics_inequalities
from outcomes.breakdowns import groups_for
from outcomes.models import InequalityMetric, Metric
from outcomes.statistics import GroupFigure, inequality
from tests.factories import IndicatorFactory, MetricFactory

pytestmark = pytest.mark.django_db

SOURCE = """
SELECT 1::bigint AS indicator_id, 1::bigint AS area_id, date '2026-01-01' AS period_start,
       %(breakdown)s::text AS breakdown, grp, value, lower95, upper95, weight, published,
       %(polarity)s::text AS polarity, %(age_bands)s::varchar[] AS age_bands, true AS in_a, false AS in_p,
       false AS shared
FROM unnest(%(grp)s::text[], %(value)s::float8[], %(lower)s::float8[], %(upper)s::float8[], %(weight)s::float8[],
            %(published)s::boolean[]) AS t(grp, value, lower95, upper95, weight, published)
"""
RESULT = ("groups_compared", "suppressed", "best_group", "worst_group", *FIGURES)
STATEMENT = f"WITH {measures_sql(SOURCE)} SELECT {', '.join(RESULT)} FROM new"  # noqa: S608 - constants
AGE_BANDS = ["0-11", "12-17", "18-25"]


def in_sql(breakdown, polarity, figures):
    params = {
        "breakdown": breakdown,
        "polarity": polarity,
        "age_bands": AGE_BANDS,
        "grp": [f.group for f in figures],
        "value": [f.value for f in figures],
        "lower": [f.lower95 for f in figures],
        "upper": [f.upper95 for f in figures],
        "weight": [f.weight for f in figures],
        "published": [f.published for f in figures],
    }
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: one example's error is its own
        cursor.execute(STATEMENT, params)
        return dict(zip(RESULT, cursor.fetchone(), strict=True))


def in_python(breakdown, polarity, figures):
    order = {code: k for k, (code, _) in enumerate(groups_for(breakdown, AGE_BANDS))}
    shown = sorted(figures, key=lambda f: (order.get(f.group, len(order)), f.group))
    result = inequality(shown, polarity, breakdown)
    return {name: getattr(result, name) for name in RESULT}


# as stored: values and limits to six places, populations and denominators whole
six_places = st.floats(-1e4, 1e4).map(lambda x: round(x, 6))
values = st.one_of(st.none(), st.sampled_from([0.0, 1.5, 20.0, 20.0, 35.25]), six_places)


@st.composite
def keys(draw):
    breakdown = draw(st.sampled_from(["sex", "ethnicity", "deprivation", "age"]))
    codes = [code for code, _ in groups_for(breakdown, AGE_BANDS)] + ["zz-unlisted"]
    if breakdown == "deprivation" and draw(st.booleans()):
        chosen = codes[:5]  # the five quintiles, so that the slope index is often computed
    else:
        chosen = draw(st.lists(st.sampled_from(codes), unique=True, min_size=1))
    figures = []
    for code in draw(st.permutations(chosen)):
        value = draw(values)
        spread = draw(st.one_of(st.none(), st.floats(0, 50).map(lambda x: round(x, 6))))
        figures.append(
            GroupFigure(
                group=code,
                value=value,
                lower95=None if value is None or spread is None else round(value - spread, 6),
                upper95=None if value is None or spread is None else round(value + spread * draw(st.floats(0.5, 2)), 6),
                weight=draw(st.one_of(st.none(), st.just(0.0), st.integers(1, 10**6).map(float))),
                published=draw(st.booleans()) or draw(st.booleans()),
            )
        )
    return breakdown, draw(st.sampled_from(["higher", "lower", "none"])), figures


SIX = Decimal("0.000001")


def close(got, expected):
    if expected is None or got is None:
        return got is None and expected is None
    want = Decimal(repr(expected)).quantize(SIX, rounding=ROUND_HALF_UP)
    # one step of the sixth place: float sums in another order may round a half the other way
    return abs(got - want) <= SIX * (1 + abs(want) * Decimal("1e-9"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys())
@example(("sex", "higher", [GroupFigure("male", 20.0), GroupFigure("female", 20.0)]))  # a tie: women shown first
@example(("age", "lower", [GroupFigure("18-25", 5.0), GroupFigure("not-known", 1.0), GroupFigure("0-11", 5.0)]))
@example(("sex", "lower", [GroupFigure("female", 0.0), GroupFigure("male", 5.0)]))  # best 0: no ratio
@example(("sex", "higher", [GroupFigure("female", 30.0), GroupFigure("male", 20.0, published=False)]))
def test_the_statement_gives_the_python_references_measures(key):
    breakdown, polarity, figures = key
    got, expected = in_sql(breakdown, polarity, figures), in_python(breakdown, polarity, figures)
    for name in ("groups_compared", "suppressed", "best_group", "worst_group"):
        assert got[name] == expected[name], name
    for name in FIGURES:
        assert close(got[name], expected[name]), (name, got[name], expected[name])


def test_the_slope_index_of_five_equal_fifths():
    # 50, 40, 30, 20, 10 in equal fifths: y = 55 - 50 x, so SII 50 and RII 50 / 30
    figures = [GroupFigure(f"q{k + 1}", 50.0 - 10 * k, 45.0 - 10 * k, 55.0 - 10 * k, 200.0) for k in range(5)]
    got = in_sql("deprivation", "lower", figures)
    assert got["sii"] == Decimal("50.000000") and got["rii"] == Decimal("1.666667")
    assert (got["best_group"], got["worst_group"], got["gap"], got["ratio"]) == ("q5", "q1", 40, 5)


# Which rows each basis reads, over stored metric rows ------------------------------------------
PERIOD = dt.date(2026, 1, 1)


def _row(indicator, group, value, basis="approved", also=True, **fields):
    return MetricFactory(
        indicator=indicator, breakdown="sex", population_group=group, value=Decimal(value), basis=basis,
        also_provisional=also, **fields,
    )  # fmt: skip


def _gaps(indicator):
    return {
        g.basis: (g.best_group, g.worst_group, g.gap, g.groups_compared)
        for g in InequalityMetric.objects.filter(indicator=indicator)
    }


def _recompute(indicator):
    return metrics_inequalities("cells", {"indicator_ids": [indicator.pk], "periods": [PERIOD]})


def test_each_basis_gets_the_measures_of_its_own_rows():
    indicator = IndicatorFactory(breakdowns=["sex"], polarity="higher")
    # women approved and also provisional; men approved 20, but a submitted value made them 40
    _row(indicator, "female", 30)
    _row(indicator, "male", 20, also=False)
    _row(indicator, "male", 40, basis=Metric.Basis.PROVISIONAL, also=False)
    assert _recompute(indicator) == 2
    assert _gaps(indicator) == {
        "approved": ("female", "male", Decimal("-10.000000"), 2),
        "provisional": ("male", "female", Decimal("-10.000000"), 2),
    }
    assert _recompute(indicator) == 0  # nothing changed: nothing written


def test_a_key_whose_rows_all_give_both_bases_stores_one_row_which_readers_take_for_both():
    from outcomes.inequalities.selectors import area_inequalities

    indicator = IndicatorFactory(breakdowns=["sex"], polarity="higher")
    _row(indicator, "female", 30)
    _row(indicator, "male", 20)
    assert _recompute(indicator) == 1
    assert _gaps(indicator) == {"approved": ("female", "male", Decimal("-10.000000"), 2)}
    area = InequalityMetric.objects.get(indicator=indicator).area
    for basis in ("approved", "provisional"):
        (row,) = area_inequalities(indicator=indicator, area=area, basis=basis)
        assert (row.best_group, row.gap) == ("female", Decimal("-10.000000"))
    # a submitted value then moves the men's figure: the provisional basis gets its own row
    Metric.with_groups.filter(indicator=indicator, population_group="male").update(also_provisional=False)
    _row(indicator, "male", 50, basis=Metric.Basis.PROVISIONAL, also=False)
    assert _recompute(indicator) == 1
    (row,) = area_inequalities(indicator=indicator, area=area, basis="provisional")
    assert (row.basis, row.best_group, row.gap) == ("provisional", "male", Decimal("-20.000000"))


def test_a_basis_with_no_rows_gets_no_row_and_a_gone_key_is_removed():
    indicator = IndicatorFactory(breakdowns=["sex"], polarity="higher")
    women = _row(indicator, "female", 30, also=False)
    _row(indicator, "male", 20, also=False, suppressed=True)  # approved only, and men not published
    _recompute(indicator)
    assert _gaps(indicator) == {"approved": ("", "", None, 1)}
    assert InequalityMetric.objects.get(indicator=indicator).suppressed
    Metric.with_groups.filter(indicator=indicator).exclude(pk=women.pk).delete()
    women.delete()
    assert _recompute(indicator) == 1
    assert not InequalityMetric.objects.filter(indicator=indicator).exists()
