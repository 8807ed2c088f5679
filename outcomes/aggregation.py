"""Borough values into pan-London metrics, in set-based SQL (docs/statistics.md).

For a set of (indicator, period) cells, one INSERT ... SELECT ... GROUP BY GROUPING SETS
sums numerators and denominators across providers for every borough, every ICS
sub-region and London in a single pass over the values, computes the value by measure
and its 95% and 99.8% limits (Wilson for proportions; exact Poisson below 10 events and
Byar from 10 for counts and rates), and upserts `Metric` rows on (indicator, area,
period, basis). A second statement compares each area with London and ranks boroughs
into quintiles. Rows are only rewritten when something changed, so recomputing twice,
or the nightly rebuild, leaves the table byte-identical; cells with no values left lose
their metrics.

Two bases are kept: `approved` (only approved values, the published figures) and
`provisional` (approved and submitted values, marked provisional on dashboards).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction

from outcomes.statistics import (
    PERCENT_MIN_DENOMINATOR,
    SUPPRESS_BELOW,
    Z95,
    Z998,
    CellArea,
    exact_poisson,
    secondary_suppression,
)
from stakeholders.models import Area, AreaLevel

BASES = ("approved", "provisional")


def _exact_table() -> str:
    """A VALUES list of exact Poisson limits for 0..9 events at both levels."""
    rows = []
    for x in range(10):
        l95, u95 = exact_poisson(x, 95)
        l998, u998 = exact_poisson(x, 99.8)
        rows.append(f"({x}::float8, {l95!r}, {u95!r}, {l998!r}, {u998!r})")
    return "(VALUES " + ", ".join(rows) + ") AS e(x, l95, u95, l998, u998)"


EXACT = _exact_table()


def published(column: str) -> str:
    """SQL: a count as disclosure control publishes it (outcomes.statistics.published_count).

    Below 5 it is left as it is (the row is suppressed and none of its figures is shown); from 5
    on it is rounded to the nearest 5, halves up. Rates and percentages, their limits, comparisons,
    quintiles and trends are computed from these, never from the exact counts, so that a published
    figure tells nobody more than the published counts do (docs/statistics.md, "Disclosure control").
    """
    return f"(CASE WHEN {column} < {SUPPRESS_BELOW} THEN {column} ELSE 5 * floor({column} / 5.0 + 0.5) END)"


# The limits of a Poisson count `n` (a numeric expression) at one level, as events.
_BYAR_LOW = "({n} * power(1 - 1 / (9 * {n}) - {z} / (3 * sqrt({n})), 3))"
_BYAR_HIGH = "(({n} + 1) * power(1 - 1 / (9 * ({n} + 1)) + {z} / (3 * sqrt({n} + 1)), 3))"
# Wilson limits as percentages of x out of n.
_WILSON_LOW = "(100 * (2 * {x} + {z}^2 - {z} * sqrt({z}^2 + 4 * {x} * (1 - {x} / {n}))) / (2 * ({n} + {z}^2)))"
_WILSON_HIGH = "(100 * (2 * {x} + {z}^2 + {z} * sqrt({z}^2 + 4 * {x} * (1 - {x} / {n}))) / (2 * ({n} + {z}^2)))"


def _limit(side: str, z: float, exact_column: str, row: str = "s.", population: str = "p.", measure: str = "i.") -> str:
    """SQL for one limit of the metric in `s` (the grouped sums), by measure.

    `row` names the published counts as float8 (numf, denf: see `published`), `population` and
    `measure` where the row has them under another table (the rebuild computes the limits after
    its windows, from its own rows).
    """
    byar = (_BYAR_LOW if side == "low" else _BYAR_HIGH).format(n=f"{row}numf", z=repr(z))
    events = f"(CASE WHEN {row}numf < 10 THEN e.{exact_column} ELSE {byar} END)"
    wilson = (_WILSON_LOW if side == "low" else _WILSON_HIGH).format(x=f"{row}numf", n=f"{row}denf", z=repr(z))
    return (
        f"CASE {measure}measure"
        f" WHEN 'proportion' THEN CASE WHEN {row}denf > 0 AND {row}numf <= {row}denf THEN {wilson} END"
        f" WHEN 'count' THEN {events}"
        f" WHEN 'rate' THEN CASE WHEN {population}population > 0 THEN {events} / {population}population * 100000 END"
        " END"
    )


def _round6(column: str) -> str:
    """A float8 limit as numeric to six decimals.

    By bigint arithmetic where the value allows: a float8 -> numeric cast formats the number as
    text, and did so for four limits of every metric row. Both paths round with this.
    """
    return (
        f"CASE WHEN abs({column}) < 1e12 THEN round({column} * 1e6)::bigint * 0.000001"
        f" ELSE round({column}::numeric, 6) END"
    )


_ROUNDED = "round(value::numeric, 6) AS value, " + ", ".join(
    f"{_round6(c)} AS {c}" for c in ("lower95", "upper95", "lower998", "upper998")
)

_COMPUTED_CTES = """
__ONE__
sub_providers AS (
    SELECT indicator_id, period_start, sub_region_id,
           count(*) FILTER (WHERE n_a > 0) AS providers_a, count(*) AS providers_p
    FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, sub_region_id
),
london_providers AS (
    -- distinct providers by hashing (a count(DISTINCT) would sort every provider row)
    SELECT indicator_id, period_start, count(*) FILTER (WHERE approved) AS providers_a, count(*) AS providers_p
    FROM (SELECT indicator_id, period_start, organisation_id, bool_or(n_a > 0) AS approved
          FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, organisation_id) o
    GROUP BY indicator_id, period_start
),
g AS (
    SELECT indicator_id, period_start, borough_id AS area_id, num_a, den_a, n_a AS providers_a, n_a,
           num_p, den_p, n_p AS providers_p
    FROM one WHERE by_org = 0
    UNION ALL
    SELECT b.indicator_id, b.period_start, b.sub_region_id, sum(b.num_a), sum(b.den_a), min(p.providers_a),
           sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN sub_providers p USING (indicator_id, period_start, sub_region_id)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start, b.sub_region_id
    UNION ALL
    SELECT b.indicator_id, b.period_start, %(london_id)s, sum(b.num_a), sum(b.den_a), min(p.providers_a),
           sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN london_providers p USING (indicator_id, period_start)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start
),
s AS (
    SELECT g.indicator_id, g.period_start, g.area_id, b.basis, b.num, b.den, b.providers,
           __PUBLISHED_FLOATS__  -- once a row: a numeric's cast to float8 goes through text
    FROM g CROSS JOIN LATERAL (VALUES ('approved', g.num_a, g.den_a, g.providers_a, g.n_a),
                                     ('provisional', g.num_p, g.den_p, g.providers_p, 1))
                              AS b(basis, num, den, providers, n)
    WHERE b.n > 0
),
__COMPUTED__""".replace(
    "__PUBLISHED_FLOATS__", f"{published('b.num')}::float8 AS numf, {published('b.den')}::float8 AS denf"
)
# From the sums `s` (indicator_id, period_start, area_id, basis, num, den, providers): each row's
# value by measure, its 95% and 99.8% limits and primary suppression. Shared by both paths.
_COMPUTED_FROM_SUMS = f"""-- Each area's population in the year nearest each period's (once per area and year).
years AS (
    SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year FROM s
),
pop AS (
    SELECT y.area_id, y.year, p.population FROM years y
    CROSS JOIN LATERAL (
        SELECT pp.population FROM outcomes_population pp
        WHERE pp.area_id = y.area_id
        ORDER BY abs(pp.year - y.year), pp.year DESC LIMIT 1
    ) p
),
computed AS (
    SELECT s.indicator_id, s.area_id, s.period_start, s.basis, s.num, s.den, s.providers, p.population,__EXTRA__
        CASE i.measure
            WHEN 'proportion' THEN CASE WHEN s.den > 0 THEN 100 * {published("s.num")} / {published("s.den")} END
            WHEN 'mean' THEN CASE WHEN s.den > 0 THEN s.num / s.den END
            WHEN 'count' THEN s.num
            WHEN 'rate' THEN CASE WHEN p.population > 0 THEN {published("s.num")} / p.population * 100000 END
        END AS value,
        {_limit("low", Z95, "l95")} AS lower95,
        {_limit("high", Z95, "u95")} AS upper95,
        {_limit("low", Z998, "l998")} AS lower998,
        {_limit("high", Z998, "u998")} AS upper998,
        -- Disclosure: counts below 5, or a ratio with a part below 5, are suppressed (London's too);
        -- so is a percentage of a published denominator below PERCENT_MIN_DENOMINATOR (its counts are
        -- still shown): computed from rounded counts, it could be far from the exact one.
        (s.num < {SUPPRESS_BELOW} OR (i.measure IN ('proportion', 'mean') AND s.den < {SUPPRESS_BELOW})
         OR (i.measure = 'proportion' AND {published("s.den")} < {PERCENT_MIN_DENOMINATOR})) AS suppressed,
        i.measure, i.polarity, i.period_type, a.level, a.parent_id
    FROM s
    JOIN outcomes_indicator i ON i.id = s.indicator_id
    JOIN stakeholders_area a ON a.id = s.area_id
    LEFT JOIN pop p ON p.area_id = s.area_id AND p.year = date_part('year', s.period_start)::int
    LEFT JOIN {EXACT} ON e.x = s.numf  -- hashing a float8, not a numeric; equal only for whole 0..9
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
)
"""  # noqa: S608 - assembled only from constants and float literals, never user input
_COMPUTED_CTES = _COMPUTED_CTES.replace("__COMPUTED__", _COMPUTED_FROM_SUMS.replace("__EXTRA__", ""))

# The incremental path: per cell, each cell's values read through the value_by_cell index (a LATERAL join), so the
# cost follows the cells touched, never the size of the history (a hash join would scan every value).
_ONE_FROM_VALUES = """v AS (
    SELECT v.indicator_id, v.period_start, v.borough_id, b.parent_id AS sub_region_id, v.organisation_id,
           v.numerator, v.denominator, v.status = 'approved' AS approved
    __VALUES__
),
-- Both bases in one hashed pass over the values: each borough's sums (approved only, and
-- approved with submitted), and which providers serve each sub-region. The natural key makes
-- a borough's row count its number of providers; sub-regions and London add up the boroughs'
-- sums and count their distinct providers from the much smaller provider rows.
one AS (
    SELECT indicator_id, period_start, sub_region_id, borough_id, organisation_id, GROUPING(borough_id) AS by_org,
           sum(numerator) FILTER (WHERE approved) AS num_a, sum(denominator) FILTER (WHERE approved) AS den_a,
           count(*) FILTER (WHERE approved) AS n_a,
           sum(numerator) AS num_p, sum(denominator) AS den_p, count(*) AS n_p
    FROM v
    GROUP BY GROUPING SETS ((indicator_id, period_start, sub_region_id, borough_id),
                            (indicator_id, period_start, sub_region_id, organisation_id))
),
"""
_CELL_VALUES = """FROM cells c
    CROSS JOIN LATERAL (
        SELECT * FROM outcomes_outcomevalue v
        WHERE v.indicator_id = c.indicator_id AND v.period_start = c.period_start
          AND v.status IN ('approved', 'submitted')
    ) v
    JOIN stakeholders_area b ON b.id = v.borough_id"""

_CELLS_CTE = """
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),"""
_RECOMPUTE_WRITE = """,
-- Metrics of the cells whose areas have no values left (rejected, or no longer approved).
deleted AS (
    DELETE FROM outcomes_metric m USING cells c
    WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
      AND NOT EXISTS (SELECT 1 FROM s WHERE s.indicator_id = m.indicator_id AND s.period_start = m.period_start
                      AND s.area_id = m.area_id AND s.basis = m.basis)
    RETURNING 1
),
written AS (
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, numerator, denominator, population,
    providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile,
    trend, computed_at)
SELECT indicator_id, area_id, period_start, basis, num, den, population, providers, __ROUNDED__,
       suppressed, false, 'not_compared', NULL, '', now()
FROM computed
ON CONFLICT (indicator_id, area_id, period_start, basis) DO UPDATE SET
    numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator, population = EXCLUDED.population,
    providers = EXCLUDED.providers, value = EXCLUDED.value, lower95 = EXCLUDED.lower95,
    upper95 = EXCLUDED.upper95, lower998 = EXCLUDED.lower998, upper998 = EXCLUDED.upper998,
    suppressed = EXCLUDED.suppressed, computed_at = EXCLUDED.computed_at
WHERE (outcomes_metric.numerator, outcomes_metric.denominator, outcomes_metric.population,
       outcomes_metric.providers, outcomes_metric.value, outcomes_metric.lower95, outcomes_metric.upper95,
       outcomes_metric.lower998, outcomes_metric.upper998, outcomes_metric.suppressed)
   IS DISTINCT FROM (EXCLUDED.numerator, EXCLUDED.denominator, EXCLUDED.population, EXCLUDED.providers,
       EXCLUDED.value, EXCLUDED.lower95, EXCLUDED.upper95, EXCLUDED.lower998, EXCLUDED.upper998,
       EXCLUDED.suppressed)
RETURNING 1
)
SELECT (SELECT count(*) FROM deleted) + (SELECT count(*) FROM written)
"""
_RECOMPUTE_SQL = _CELLS_CTE + _COMPUTED_CTES.replace("__ONE__", _ONE_FROM_VALUES.replace("__VALUES__", _CELL_VALUES))
_RECOMPUTE_SQL += _RECOMPUTE_WRITE.replace("__ROUNDED__", _ROUNDED)

# A borough's quintile among its cell's unsuppressed boroughs, and every area's comparison with
# London. `_CELL_WINDOWS` reads rows `m` (value, suppression, the area's level, the polarity and
# `eligible`/`rank_key` from `_RANKING`) in one window per cell: London's value beside every row,
# how many boroughs are eligible, and each row's rank with eligible boroughs first (so an eligible
# borough's rank is its rank among them). One sort and one window pass serve all three.
# A count is never ranked nor compared (docs/statistics.md, "What is compared with what"): a
# borough's count is a share of London's total, not a figure on its scale, and boroughs differ
# in size. Only proportions, rates and means are ranked into quintiles and compared with London.
_RANKING = """(m.level = 'borough' AND m.measure <> 'count' AND m.value IS NOT NULL AND NOT m.suppressed) AS eligible,
           CASE WHEN m.polarity = 'lower' THEN m.value ELSE -m.value END AS rank_key"""
_CELL_WINDOWS = """max(m.value) FILTER (WHERE m.area_id = %(london_id)s AND NOT m.suppressed AND NOT m.hidden)
               OVER cell AS london_value,
           count(*) FILTER (WHERE m.eligible) OVER cell AS n_eligible,
           rank() OVER cell AS rnk"""
# One window for all three, so one pass: rank() reads only the order, and the frame (the whole
# cell) makes the two aggregates the cell's, computed once a cell.
_CELL_WINDOW = (
    "WINDOW cell AS (PARTITION BY m.indicator_id, m.period_start, m.basis ORDER BY NOT m.eligible, m.rank_key"
    " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
)
_QUINTILE_AND_COMPARISON = """        CASE WHEN m.eligible AND m.n_eligible >= 5
             THEN ((m.rnk - 1) * 5 / m.n_eligible) + 1 END AS quintile,
        CASE
            WHEN m.level = 'london' OR m.measure = 'count' OR m.london_value IS NULL OR m.lower95 IS NULL
                 OR m.suppressed THEN 'not_compared'
            WHEN m.london_value BETWEEN m.lower95 AND m.upper95 THEN 'similar'
            WHEN m.polarity = 'none' THEN
                (CASE WHEN m.london_value NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN m.lower95 > m.london_value THEN 'higher' ELSE 'lower' END)
            ELSE
                (CASE WHEN m.london_value NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN (m.lower95 > m.london_value) = (m.polarity = 'higher') THEN 'better' ELSE 'worse' END)
        END AS comparison
"""

# Comparison with London and quintiles among boroughs, only rewriting rows that change.
_COMPARE_SQL = f"""
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),
m AS (
    SELECT m.id, m.indicator_id, m.period_start, m.basis, m.area_id, m.value, m.lower95, m.upper95, m.lower998,
           m.upper998, m.suppressed, m.secondary_suppressed AS hidden, a.level, i.polarity, i.measure
    FROM outcomes_metric m
    JOIN cells c ON c.indicator_id = m.indicator_id AND c.period_start = m.period_start
    JOIN stakeholders_area a ON a.id = m.area_id
    JOIN outcomes_indicator i ON i.id = m.indicator_id
),
-- London's value beside every row of its cell (a window, not a self-join: the planner
-- cannot estimate the unnest() cells and would pick a quadratic nested loop).
windowed AS (
    SELECT m.*, {_CELL_WINDOWS}
    FROM (SELECT m.*, {_RANKING} FROM m) m
    {_CELL_WINDOW}
),
ranked AS (
    SELECT m.id,
{_QUINTILE_AND_COMPARISON}    FROM windowed m
)
UPDATE outcomes_metric t SET quintile = r.quintile, comparison = r.comparison
FROM ranked r
WHERE t.id = r.id AND (t.quintile, t.comparison) IS DISTINCT FROM (r.quintile, r.comparison)
"""  # noqa: S608 - assembled only from constants

# Trend over each area's last five periods (docs/statistics.md), for the touched periods and
# the four after each (a changed period moves the windows ending there), reading the four before.
# Significant at 95%: chi-squared for linear trend with one degree of freedom above 3.841459
# (proportions: Cochran-Armitage; counts and rates: the Poisson score test, weighted by
# population for rates); means: least-squares slope, |t| above 3.182446 (3 degrees of freedom).
CHI2_1DF_95 = 3.841458820694124
T_3DF_975 = 3.182446305284263
# The last five periods of each area (window `win`, periods numbered `t`): the four before each
# row by lag() (cheap, where re-aggregating a five-row frame for every row was not), then their
# sums, added oldest first as a window sum would, then the test.
_LAGGED = ("x", "w", "y")


def _months(date: str) -> str:
    """A date's month count (year * 12 + month) as float8: date_part is float8, extract() numeric and slower."""
    return f"(date_part('year', {date}) * 12 + date_part('month', {date}))"


_BAD = "(suppressed OR hidden OR y IS NULL OR w IS NULL OR w <= 0)"
_TREND_LAGS = "".join(f"        lag({n}, {k}) OVER win AS {n}_{k},\n" for n in _LAGGED for k in (1, 2, 3, 4))
# t is a whole number of periods: four rows back is four periods back only when none is missing, and
# then the rows between are t - 1, t - 2, t - 3. A moving count (no frame re-aggregated) finds gaps.
_TREND_LAGS += "        lag(t, 4) OVER win AS t_4,\n"
_TREND_LAGS += f"        count(*) FILTER (WHERE {_BAD}) OVER win AS bad_in_five\n"
# lag() reads the partition whatever the frame, so one frame (the moving count's) serves every
# function and they are computed in one pass, not a second window pass for the count.
_TREND_WINDOW = (
    "WINDOW win AS (PARTITION BY indicator_id, area_id, basis ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)"
)


def _five(term: str) -> str:
    """term (in x, w, y, t) over the last five periods, oldest first: `w * t` -> w_4 * (t - 4) + ... + w * t."""

    def at(k: int) -> str:
        parts = []
        for part in term.split():
            if k and part in _LAGGED:
                part = f"{part}_{k}"
            elif k and part == "t":
                part = f"(t - {k})"
            parts.append(part)
        return " ".join(parts)

    return " + ".join(at(k) for k in (4, 3, 2, 1, 0))


_TREND_SUMS = (
    "        CASE WHEN t_4 >= t - 4 THEN 5 ELSE 0 END AS k,\n"
    "        bad_in_five > 0 AS gap,\n"
    + ",\n".join(
        f"        {_five(term)} AS {name}"
        for name, term in (
            ("sw", "w"),
            ("sx", "x"),
            ("swt", "w * t"),
            ("swtt", "w * t * t"),
            ("sxt", "x * t"),
            ("st", "t"),
            ("stt", "t * t"),
            ("sy", "y"),
            ("syy", "y * y"),
            ("sty", "t * y"),
        )
    )
    + "\n"
)
_TREND_CASE = f"""        CASE
            WHEN k < 5 OR gap THEN ''
            WHEN measure = 'mean' THEN
                CASE WHEN __SXX__ <= 0 THEN ''
                     WHEN __RESID__ <= 0 THEN CASE WHEN __SXY__ > 0 THEN 'increasing' WHEN __SXY__ < 0 THEN 'decreasing'
                                                   ELSE 'no_change' END
                     WHEN abs(__SXY__ / __SXX__) / sqrt(__RESID__ / 3 / __SXX__) > {T_3DF_975!r}
                         THEN CASE WHEN __SXY__ > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
            ELSE
                CASE WHEN __VAR__ <= 0 THEN 'no_change'
                     WHEN __U__ * __U__ / __VAR__ > {CHI2_1DF_95!r}
                         THEN CASE WHEN __U__ > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
        END AS new_trend
"""
# The test's terms, written out where they are used (no per-row subquery); PostgreSQL evaluates a
# CASE lazily, so each is computed only on the rows that reach it.
for _name, _term in (
    ("__RESID__", "((syy - sy * sy / 5) - (__SXY__) ^ 2 / nullif(__SXX__, 0))"),
    ("__SXX__", "(stt - st * st / 5)"),
    ("__SXY__", "(sty - st * sy / 5)"),
    ("__U__", "(sxt - sx * swt / sw)"),
    (
        "__VAR__",
        "(CASE WHEN measure = 'proportion' THEN (sx / sw) * (1 - sx / sw) * (swtt - swt * swt / sw)"
        " ELSE sx * (swtt / sw - (swt / sw) ^ 2) END)",
    ),
):
    _TREND_CASE = _TREND_CASE.replace(_name, _term)
_TREND_SQL = f"""
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
idx AS (
    -- A period's position on its indicator's calendar: months, quarters or years since 2000.
    SELECT i.id, i.measure, i.period_type,
           CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months'
                ELSE interval '4 years' END AS lookback,
           CASE i.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS months
    FROM outcomes_indicator i JOIN touched t ON t.indicator_id = i.id
),
m AS (
    SELECT m.id, m.indicator_id, m.area_id, m.basis, m.period_start, m.trend, m.suppressed,
           m.secondary_suppressed AS hidden, i.measure,
           {published("m.numerator")}::float8 AS x, m.value::float8 AS y,
           CASE i.measure WHEN 'proportion' THEN {published("m.denominator")}::float8
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           -- relative to the earliest touched period, so the sums stay small
           ({_months("m.period_start")} - {_months("t.since")}) / i.months AS t,
           t.since, t.until + i.lookback AS upto
    FROM outcomes_metric m
    JOIN touched t ON t.indicator_id = m.indicator_id
    JOIN idx i ON i.id = m.indicator_id
    -- the four periods before the earliest touched one are read, never written
    WHERE m.period_start BETWEEN t.since - i.lookback AND t.until + i.lookback
),
lagged AS (
    SELECT m.*,
{_TREND_LAGS}    FROM m
    {_TREND_WINDOW}
),
sums AS (
    SELECT lagged.*,
{_TREND_SUMS}    FROM lagged
),
stat AS (
    SELECT id, trend, period_start, since, upto,
{_TREND_CASE}    FROM sums
)
UPDATE outcomes_metric t SET trend = s.new_trend
FROM stat s
WHERE t.id = s.id AND s.period_start BETWEEN s.since AND s.upto AND t.trend IS DISTINCT FROM s.new_trend
"""  # noqa: S608 - assembled only from constants and float literals, never user input


# Dashboards cache what they read from Metric under this counter (outcomes.views): every
# recompute that writes or removes a row bumps it on commit, so cached figures last exactly
# until their cells are recomputed.
GENERATION_KEY = "outcomes:metrics-generation"


def metrics_generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return int(generation)


def metrics_changed() -> None:
    """Invalidate every cached dashboard (after the current transaction commits)."""

    def bump() -> None:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # not set yet (or evicted): any new value is a new generation
            cache.add(GENERATION_KEY, 2, timeout=None)

    transaction.on_commit(bump)


def _london_id() -> int:
    return Area.objects.only("pk").get(level=AreaLevel.LONDON).pk


@transaction.atomic
def metrics_recompute_cells(cells: Iterable[tuple[int, str]]) -> int:
    """Recompute every area's metrics for the given (indicator id, period start) cells.

    Idempotent; returns how many metric rows were written or removed.
    """
    pairs = sorted(set(cells))
    if not pairs:
        return 0
    params = {
        "indicator_ids": [p[0] for p in pairs],
        "periods": [p[1] for p in pairs],
        "london_id": _london_id(),
    }
    written = 0
    with connection.cursor() as cursor:
        # One recompute of a cell at a time: concurrent imports touching it wait here.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('outcomes.metrics'), i::int)"
            " FROM (SELECT DISTINCT unnest(%(indicator_ids)s::bigint[]) AS i) ids ORDER BY i",
            params,
        )
        cursor.execute(_SPLIT_SQL, params)
        cursor.execute(_RECOMPUTE_SQL, params)
        written += cursor.fetchone()[0]
        # Secondary suppression first: a hidden total is no benchmark and breaks a trend's five periods.
        written += _secondary_suppression(cursor, params)
        cursor.execute(_COMPARE_SQL, params)
        written += cursor.rowcount
        cursor.execute(_TREND_SQL, params)
        written += cursor.rowcount
        cursor.execute(_FOLD_SQL, params)
    if written:
        metrics_changed()
    return written


_CELL_COUNTS_SQL = """
SELECT m.id, m.indicator_id, m.period_start, m.basis, i.measure, a.level, a.parent_id, m.area_id,
       m.numerator, m.denominator, m.secondary_suppressed
FROM (SELECT DISTINCT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[])) c(indicator_id, period_start)
CROSS JOIN LATERAL (
    SELECT * FROM outcomes_metric m WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
) m
JOIN outcomes_indicator i ON i.id = m.indicator_id
JOIN stakeholders_area a ON a.id = m.area_id
ORDER BY m.indicator_id, m.period_start, m.basis
"""

# The counts each measure publishes (outcomes.dashboards): a mean's numerator never is.
_PUBLISHED_COUNTS = {"count": (8,), "rate": (8,), "proportion": (8, 9), "mean": (9,)}


def _hidden_areas(rows: list[Any]) -> set[int]:
    """The areas of one cell and basis to hide, from its rows as _CELL_COUNTS_SQL selects them."""
    hidden: set[int] = set()
    for column in _PUBLISHED_COUNTS[rows[0][4]]:
        areas = [CellArea(key=r[7], level=r[5], parent=r[6], count=float(r[column] or 0)) for r in rows]
        hidden |= secondary_suppression(areas)
    return hidden


def _secondary_suppression(cursor: Any, params: dict[str, Any]) -> int:
    """Flag the totals to hide so that no suppressed borough can be worked out by subtraction.

    A pass over the cells' metric rows (39 areas a cell), never over the stored values.
    """
    cursor.execute(_CELL_COUNTS_SQL, params)
    ids: list[int] = []
    flags: list[bool] = []
    for _, rows in groupby(cursor.fetchall(), key=lambda r: (r[1], r[2], r[3])):
        rows = list(rows)
        hidden = _hidden_areas(rows)
        for r in rows:
            if (r[7] in hidden) != r[10]:
                ids.append(r[0])
                flags.append(r[7] in hidden)
    if ids:
        cursor.execute(
            "UPDATE outcomes_metric m SET secondary_suppressed = f.flag"
            " FROM unnest(%s::bigint[], %s::boolean[]) AS f(id, flag) WHERE m.id = f.id",
            [ids, flags],
        )
    return len(ids)


def all_cells() -> list[tuple[int, str]]:
    """Every (indicator, period) that has values or metrics."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indicator_id, period_start FROM outcomes_outcomevalue"
            " UNION SELECT indicator_id, period_start FROM outcomes_metric"
        )
        return [(row[0], row[1].isoformat()) for row in cursor.fetchall()]


# The nightly rebuild computes every metric row with the incremental statements' formulas, reading
# the values once, and writes only the rows that differ (docs/performance.md, "Metrics aggregation").

# 1. One hashed pass over the values, as the bare sums would make it: each borough's sums by status
# and organisation word, with a bitmap of its providers (organisation id 64w + b is bit b of word
# w). Then the boroughs', sub-regions' and London's sums of both bases from those rows alone, one
# row a cell and area with both bases side by side: a sub-region's distinct providers are the set
# bits of the OR of its boroughs' bitmaps, so the values are never read a second time. Sums go on
# as bigints (ten-thousandths: numerators have four decimals), far cheaper than numeric sums; a
# borough sum too large for that is added on as numeric.
_REBUILD_VALUES = """
WITH v AS MATERIALIZED (
    SELECT indicator_id, period_start, borough_id, status = 'approved' AS approved, organisation_id >> 6 AS word,
           bit_or(1::bigint << (organisation_id & 63)::int) AS bits, sum(numerator) AS num, sum(denominator) AS den
    FROM outcomes_outcomevalue
    WHERE status IN ('approved', 'submitted')__ONLY_VALUES__
    GROUP BY 1, 2, 3, 4, 5
),
x AS (
    SELECT v.*, b.parent_id,
           CASE WHEN v.num < 900000000000000 THEN (v.num * 10000)::bigint END AS num4,
           CASE WHEN v.den < 9000000000000000000 THEN v.den::bigint END AS den8
    FROM v JOIN stakeholders_area b ON b.id = v.borough_id
    OFFSET 0  -- a fence: num4 and den8 are computed once a row, not once a mention
)"""
# GROUPING(borough_id, parent_id) is 1 on the borough rows, 2 on the sub-regions', 3 on London's.
_AREA_OF_GROUP = """CASE GROUPING(borough_id, parent_id) WHEN 1 THEN borough_id WHEN 2 THEN parent_id
                ELSE %(london_id)s END AS area_id"""
_AREA_SETS = """GROUPING SETS ((indicator_id, period_start{word}, borough_id),
                          (indicator_id, period_start{word}, parent_id), (indicator_id, period_start{word}))"""
_SUMS = """sum(num4) FILTER (WHERE approved) AS num4_a, sum(num) FILTER (WHERE approved AND num4 IS NULL) AS big_a,
           sum(den8) FILTER (WHERE approved) AS den8_a,
           sum(den) FILTER (WHERE approved AND den8 IS NULL AND den IS NOT NULL) AS bigden_a,
           sum(num4) AS num4_p, sum(num) FILTER (WHERE num4 IS NULL) AS big_p, sum(den8) AS den8_p,
           sum(den) FILTER (WHERE den8 IS NULL AND den IS NOT NULL) AS bigden_p"""
_CELLS_SELECT = """SELECT indicator_id, period_start, area_id,
       CASE WHEN big_a IS NULL THEN num4_a * 0.0001 ELSE coalesce(num4_a * 0.0001, 0) + big_a END AS num_a,
       CASE WHEN bigden_a IS NULL THEN den8_a ELSE coalesce(den8_a, 0) + bigden_a END AS den_a, providers_a,
       CASE WHEN big_p IS NULL THEN num4_p * 0.0001 ELSE coalesce(num4_p * 0.0001, 0) + big_p END AS num_p,
       CASE WHEN bigden_p IS NULL THEN den8_p ELSE coalesce(den8_p, 0) + bigden_p END AS den_p, providers_p"""
# Organisation words up to which the bitmaps are kept as columns of the one grouping pass; past
# that, providers are counted in a second, separate grouping by word.
WORDS_INLINE = 8


def _rebuild_cells_sql(words: list[int]) -> str:
    """The CREATE TABLE of metrics_cells for organisations in these words (ids >> 6)."""
    if len(words) <= WORDS_INLINE:

        def count(condition: str) -> str:
            bitmaps = (f"bit_or(bits) FILTER (WHERE {condition}word = {int(w)})::bit(64)" for w in words)
            return " + ".join(f"coalesce(bit_count({b}), 0)" for b in bitmaps) or "0"

        # words are integers read from the database, the rest constants
        body = f""",
sums AS (
    SELECT indicator_id, period_start, {_AREA_OF_GROUP},
           {_SUMS},
           ({count("approved AND ")})::int AS providers_a, ({count("")})::int AS providers_p
    FROM x
    GROUP BY {_AREA_SETS.format(word="")}
),
cells AS (
    {_CELLS_SELECT}
    FROM sums
)"""  # noqa: S608
    else:
        body = f""",
sums AS (
    SELECT indicator_id, period_start, {_AREA_OF_GROUP}, {_SUMS}
    FROM x
    GROUP BY {_AREA_SETS.format(word="")}
),
providers AS (
    SELECT indicator_id, period_start, area_id, sum(bit_count(bits_a::bit(64))::int) AS providers_a,
           sum(bit_count(bits_p::bit(64))::int) AS providers_p
    FROM (SELECT indicator_id, period_start, word, {_AREA_OF_GROUP},
                 bit_or(bits) FILTER (WHERE approved) AS bits_a, bit_or(bits) AS bits_p
          FROM x
          GROUP BY {_AREA_SETS.format(word=", word")}) w
    GROUP BY indicator_id, period_start, area_id
),
cells AS (
    {_CELLS_SELECT}
    FROM sums JOIN providers USING (indicator_id, period_start, area_id)
)"""  # noqa: S608
    return (
        "CREATE TEMPORARY TABLE metrics_cells ON COMMIT DROP AS"
        + _REBUILD_VALUES
        + body
        + """
SELECT *,
       -- no submitted values count here: the provisional row is the approved one
       coalesce(providers_a = providers_p AND num_a = num_p AND den_a IS NOT DISTINCT FROM den_p, false) AS same,
       false AS hidden_a, false AS hidden_p,  -- secondary suppression, set below for the few to hide
       row_number() OVER () AS rid  -- a row's key: its bases' rows are 2 rid and 2 rid + 1 below
FROM cells
"""
    )


# 2. Secondary suppression, in Python, only for the cells and bases where some borough's
# published count is below the threshold (no other cell can have a borough pinned).
_REBUILD_CELL_COUNTS_SQL = f"""
WITH small AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM metrics_cells c JOIN stakeholders_area a ON a.id = c.area_id
    WHERE a.level = 'borough'
      AND (least(c.num_a, c.num_p) < {SUPPRESS_BELOW} OR least(c.den_a, c.den_p) < {SUPPRESS_BELOW})
),
rows AS (
    SELECT NULL::bigint AS id, c.indicator_id, c.period_start, b.basis, i.measure, a.level, a.parent_id, c.area_id,
           b.num AS numerator, b.den AS denominator
    FROM small JOIN metrics_cells c USING (indicator_id, period_start)
    JOIN outcomes_indicator i ON i.id = c.indicator_id JOIN stakeholders_area a ON a.id = c.area_id
    CROSS JOIN LATERAL (VALUES ('approved', c.num_a, c.den_a, c.providers_a),
                               ('provisional', c.num_p, c.den_p, c.providers_p)) AS b(basis, num, den, providers)
    WHERE b.providers > 0
)
SELECT * FROM rows
WHERE (indicator_id, period_start, basis) IN (
    SELECT indicator_id, period_start, basis FROM rows
    WHERE level = 'borough'
      AND ((measure <> 'mean' AND coalesce(numerator, 0) < {SUPPRESS_BELOW})
           OR (measure IN ('proportion', 'mean') AND coalesce(denominator, 0) < {SUPPRESS_BELOW})))
ORDER BY indicator_id, period_start, basis
"""  # noqa: S608 - a constant

# The flags go on the staging rows, so the write below carries them without a join.
_REBUILD_HIDE_SQL = """
UPDATE metrics_cells c SET hidden_a = h.a, hidden_p = h.p
FROM (SELECT indicator_id, area_id, period_start, bool_or(basis = 'approved') AS a, bool_or(basis = 'provisional') AS p
      FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::text[]) AS h(indicator_id, area_id, period_start, basis)
      GROUP BY 1, 2, 3) h  -- one row a cell and area: an UPDATE applies only one joined row
WHERE c.indicator_id = h.indicator_id AND c.area_id = h.area_id AND c.period_start = h.period_start
"""

# 3. Every approved row, and the provisional rows only from each indicator's first period where the
# bases differ (`since`, less the four periods a trend reads); before it the approved row is also
# the provisional one (`also_provisional`), and from it too where the two come out the same in
# every figure (docs/outcomes.md, "Bases"). Values, limits and primary suppression (the
# incremental path's SQL); comparison and quintiles in one window per cell; the trend by lags;
# then one diff against the stored rows (a hashed full join) that inserts, updates and deletes only
# what differs: a rebuild with nothing changed writes nothing.
_FIGURES = (
    "numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed,"
    " secondary_suppressed, comparison, quintile, trend"
)
_COLUMNS = _FIGURES + ", also_provisional"
_CORE = _COLUMNS.split(", secondary_suppressed")[0]


def _qualified(columns: str, table: str) -> str:
    return ", ".join(f"{table}.{c.strip()}" for c in columns.split(","))


# The rebuild reads the years from the staging table, so `s` has one reader and is planned inline,
# with the staging table's statistics (a CTE read twice is materialised, and its row count guessed).
_YEARS_OF_S = "SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year FROM s\n"
_YEARS_OF_CELLS = "SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year FROM metrics_cells s\n"
if _YEARS_OF_S not in _COMPUTED_FROM_SUMS:  # the replace below would silently do nothing
    raise ImportError("outcomes.aggregation: the years CTE no longer reads `s`")

_LOOKBACK = (
    "CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months'"
    " ELSE interval '4 years' END"
)

# The incremental statements work on both bases' rows. Before them, every approved row that is
# also the provisional one, in the periods they read or write (the touched ones, and the trend's
# four before and after), is split into its two rows; after them, the pairs that are the same in
# every figure are folded back into one, as the rebuild folds them. Neither counts as a write: on
# their own they leave the table as it was.
_SPAN_CTE = f"""
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
span AS (
    SELECT t.indicator_id, t.since - {_LOOKBACK} AS lo, t.until + {_LOOKBACK} AS hi
    FROM touched t JOIN outcomes_indicator i ON i.id = t.indicator_id
)"""  # noqa: S608 - a constant
_SPLIT_SQL = f"""{_SPAN_CTE},
split AS (
    UPDATE outcomes_metric m SET also_provisional = false
    FROM span
    WHERE m.indicator_id = span.indicator_id AND m.period_start BETWEEN span.lo AND span.hi AND m.also_provisional
    RETURNING m.*
)
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {_COLUMNS}, computed_at)
SELECT indicator_id, area_id, period_start, 'provisional', {_COLUMNS}, computed_at FROM split
"""  # noqa: S608 - a constant
_FOLD_SQL = f"""{_SPAN_CTE},
same AS (
    SELECT a.id AS approved_id, p.id AS provisional_id
    FROM span
    JOIN outcomes_metric a
      ON a.indicator_id = span.indicator_id AND a.period_start BETWEEN span.lo AND span.hi AND a.basis = 'approved'
    JOIN outcomes_metric p
      ON p.indicator_id = a.indicator_id AND p.period_start = a.period_start AND p.area_id = a.area_id
     AND p.basis = 'provisional'
    WHERE ({_qualified(_FIGURES, "a")}) IS NOT DISTINCT FROM ({_qualified(_FIGURES, "p")})
),
folded AS (
    DELETE FROM outcomes_metric m USING same WHERE m.id = same.provisional_id RETURNING 1
)
UPDATE outcomes_metric m SET also_provisional = true FROM same WHERE m.id = same.approved_id
"""  # noqa: S608 - a constant

# The rebuild computes the limits after its windows, so that their sorts and the trend's join back
# move rows without them: its `computed` is the shared one less the limits (and their exact table).
_LIMIT_NAMES = (
    ("low", Z95, "l95", "lower95"),
    ("high", Z95, "u95", "upper95"),
    ("low", Z998, "l998", "lower998"),
    ("high", Z998, "u998", "upper998"),
)
_REBUILD_COMPUTED = _COMPUTED_FROM_SUMS.replace("__EXTRA__", " s.hidden, s.rid, s.numf, s.denf,")
# The populations come from a small table of their own (below), analysed: the planner then hashes
# its few hundred rows, not the metric rows to probe them with.
_POPULATION_CTES = _REBUILD_COMPUTED[: _REBUILD_COMPUTED.index("computed AS (")]
if not _POPULATION_CTES.rstrip().endswith("),") or "LEFT JOIN pop p ON" not in _REBUILD_COMPUTED:
    raise ImportError("outcomes.aggregation: the rebuild cannot take the populations out of the shared computation")
_REBUILD_COMPUTED = _REBUILD_COMPUTED[len(_POPULATION_CTES) :].replace(
    "LEFT JOIN pop p ON", "LEFT JOIN metrics_pop p ON"
)
_REBUILD_POPULATION_SQL = (
    "CREATE TEMPORARY TABLE metrics_pop ON COMMIT DROP AS WITH "
    + _POPULATION_CTES.replace(_YEARS_OF_S, _YEARS_OF_CELLS).rstrip().removesuffix(",")
    + "\nSELECT * FROM pop"
)
for _side, _z, _exact, _name in _LIMIT_NAMES:
    _line = f"        {_limit(_side, _z, _exact)} AS {_name},\n"
    if _line not in _REBUILD_COMPUTED:
        raise ImportError(f"outcomes.aggregation: the rebuild cannot take {_name} out of the shared computation")
    _REBUILD_COMPUTED = _REBUILD_COMPUTED.replace(_line, "")
_EXACT_JOIN = f"    LEFT JOIN {EXACT} ON e.x = s.numf  -- hashing a float8, not a numeric; equal only for whole 0..9\n"
if _EXACT_JOIN not in _REBUILD_COMPUTED:
    raise ImportError("outcomes.aggregation: the rebuild cannot take the exact table out of the shared computation")
_REBUILD_COMPUTED = _REBUILD_COMPUTED.replace(_EXACT_JOIN, "")
_QUINTILE, _COMPARISON = _QUINTILE_AND_COMPARISON.split("AS quintile,\n")
_QUINTILE += "AS quintile"
_REBUILD_LIMITS = ",\n".join(
    f"           {_limit(side, z, exact, row='r.', population='r.', measure='r.')} AS {name}_f"
    for side, z, exact, name in _LIMIT_NAMES
)
_REBUILD_ROUNDED = ", ".join(f"{_round6(name + '_f')} AS {name}" for *_, name in _LIMIT_NAMES)

_REBUILD_WRITE_SQL = f"""
WITH ind AS (
    -- each indicator's first period (the trend's origin) and first where the bases differ
    SELECT indicator_id, min(period_start) AS origin, min(period_start) FILTER (WHERE NOT same) AS since
    FROM metrics_cells GROUP BY indicator_id
),
since AS (
    SELECT indicator_id, since FROM ind WHERE since IS NOT NULL
),
s AS (
    SELECT indicator_id, period_start, area_id, 'approved' AS basis, num_a AS num, den_a AS den,
           providers_a AS providers, hidden_a AS hidden, {published("num_a")}::float8 AS numf,
           {published("den_a")}::float8 AS denf, 2 * rid AS rid
    FROM metrics_cells WHERE providers_a > 0
    UNION ALL
    SELECT c.indicator_id, c.period_start, c.area_id, 'provisional', c.num_p, c.den_p, c.providers_p, c.hidden_p,
           {published("c.num_p")}::float8, {published("c.den_p")}::float8, 2 * c.rid + 1
    FROM metrics_cells c JOIN since USING (indicator_id) JOIN outcomes_indicator i ON i.id = c.indicator_id
    WHERE c.providers_p > 0 AND c.period_start >= since.since - {_LOOKBACK}
),
{_REBUILD_COMPUTED},
m AS (
    SELECT indicator_id, area_id, period_start, basis, num::numeric(20, 4) AS numerator, den::bigint AS denominator,
           population, providers, round(value::numeric, 6) AS value, suppressed, hidden, rid, numf, denf, measure,
           polarity, period_type, level
    FROM computed
    OFFSET 0  -- a fence: each row is rounded once, not once for every mention of its value below
),
windowed AS (
    SELECT m.*, {_CELL_WINDOWS}
    FROM (SELECT m.*, {_RANKING} FROM m) m
    {_CELL_WINDOW}
),
ranked AS (
    -- x, y, w and t: the trend's inputs (trend_in below)
    SELECT m.numf AS x, m.value::float8 AS y,
           CASE m.measure WHEN 'proportion' THEN m.denf
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           ({_months("m.period_start")} - {_months("ind.origin")})
            / CASE m.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS t,
           m.*,
{_QUINTILE},
           ind.since
    FROM windowed m JOIN ind USING (indicator_id)
),
trend_in AS (
    -- the trend's inputs alone: its sort and window pass move narrow rows, joined back after
    SELECT rid, x, y, w, t, indicator_id, area_id, basis, measure, suppressed, hidden FROM ranked
),
lagged AS (
    SELECT trend_in.*,
{_TREND_LAGS}    FROM trend_in
    {_TREND_WINDOW}
),
sums AS (
    SELECT lagged.*,
{_TREND_SUMS}    FROM lagged
),
trends AS (
    SELECT rid,
{_TREND_CASE.replace("AS new_trend", "AS trend")}    FROM sums
),
-- The limits (the incremental path's formulas), rounded, then the comparison with London.
limits AS (
    SELECT r.*, tr.trend,
{_REBUILD_LIMITS}
    FROM ranked r JOIN trends tr USING (rid)
    LEFT JOIN {EXACT} ON e.x = r.numf
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
),
rounded AS (
    SELECT l.*, {_REBUILD_ROUNDED}
    FROM limits l
    OFFSET 0  -- a fence: each rounded once, not once for every mention in the comparison
),
done AS MATERIALIZED (
    SELECT indicator_id, area_id, period_start, basis, numerator, denominator, population, providers, value,
           lower95, upper95, lower998, upper998, suppressed, hidden AS secondary_suppressed,
{_COMPARISON.rstrip()},
           quintile::smallint AS quintile, trend, since, rid
    FROM rounded m
),
-- From `since` on, the rows computed on both bases that came out the same in every figure.
same AS MATERIALIZED (
    SELECT a.rid FROM done a JOIN done p ON p.rid = a.rid + 1
    WHERE a.basis = 'approved' AND a.period_start >= a.since AND p.basis = 'provisional'
      AND ({_qualified(_FIGURES, "a")}) IS NOT DISTINCT FROM ({_qualified(_FIGURES, "p")})
),
-- Before `since` and where the two are the same, the approved row is also the provisional one.
f AS (
    SELECT indicator_id, area_id, period_start, basis, {_FIGURES},
           since IS NULL OR period_start < since OR rid IN (SELECT rid FROM same) AS also_provisional
    FROM done WHERE basis = 'approved'
    UNION ALL
    SELECT indicator_id, area_id, period_start, basis, {_FIGURES}, false
    FROM done WHERE basis = 'provisional' AND period_start >= since AND rid - 1 NOT IN (SELECT rid FROM same)
),
__WRITE__"""  # noqa: S608 - assembled only from constants and float literals, never user input
# ... into an empty table (a first build): every row is new, so no diff.
_REBUILD_INSERT_SQL = f"""
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {_COLUMNS}, computed_at)
SELECT indicator_id, area_id, period_start, basis, {_COLUMNS}, now() FROM f
"""  # noqa: S608 - a constant
_REBUILD_DIFF_SQL = f"""diff AS MATERIALIZED (
    SELECT f.*, m.id AS metric_id,
           ({_qualified(_CORE, "m")}) IS DISTINCT FROM ({_qualified(_CORE, "f")}) AS core_changed
    FROM f FULL JOIN __STORED__ m
        ON m.indicator_id = f.indicator_id AND m.area_id = f.area_id AND m.period_start = f.period_start
       AND m.basis = f.basis
    WHERE m.id IS NULL OR f.indicator_id IS NULL
       OR ({_qualified(_COLUMNS, "m")}) IS DISTINCT FROM ({_qualified(_COLUMNS, "f")})
),
inserted AS (
    INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {_COLUMNS}, computed_at)
    SELECT indicator_id, area_id, period_start, basis, {_COLUMNS}, now() FROM diff WHERE metric_id IS NULL
    RETURNING 1
),
updated AS (
    UPDATE outcomes_metric m SET
        {", ".join(f"{c.strip()} = d.{c.strip()}" for c in _COLUMNS.split(","))},
        -- as the incremental path: computed_at moves when the figures do
        computed_at = CASE WHEN d.core_changed THEN now() ELSE m.computed_at END
    FROM diff d
    WHERE m.id = d.metric_id AND d.indicator_id IS NOT NULL
    RETURNING 1
),
deleted AS (
    DELETE FROM outcomes_metric m USING diff d WHERE m.id = d.metric_id AND d.indicator_id IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) + (SELECT count(*) FROM deleted)
"""  # noqa: S608 - assembled only from constants
_REBUILD_WRITE_SQL, _REBUILD_FIRST_SQL = (
    _REBUILD_WRITE_SQL.replace("__WRITE__", _REBUILD_DIFF_SQL),
    _REBUILD_WRITE_SQL.replace(",\n__WRITE__", _REBUILD_INSERT_SQL),
)


# The organisation words (id >> 6) that have values: one probe of the natural-key index per
# organisation with values (a loose index scan), not a pass over the values.
_ORGANISATION_WORDS_SQL = """
WITH RECURSIVE o(id) AS (
    SELECT min(organisation_id) FROM outcomes_outcomevalue
    UNION ALL
    SELECT (SELECT min(v.organisation_id) FROM outcomes_outcomevalue v WHERE v.organisation_id > o.id)
    FROM o WHERE o.id IS NOT NULL
)
SELECT DISTINCT id >> 6 FROM o WHERE id IS NOT NULL ORDER BY 1
"""
_DROP_STAGING_SQL = "DROP TABLE IF EXISTS metrics_cells, metrics_pop"

# A first build is a bulk load: PostgreSQL builds an index from the finished table far faster than
# it maintains it row by row (its "Populating a Database" advice), so the first build drops the
# metrics table's indexes and builds them again after the insert, in the same transaction (nobody
# sees the table without them). Constraints keep their names and definitions; an index some
# foreign key relies on is left alone.
_METRIC_INDEXES_SQL = """
SELECT c.relname, con.conname, pg_get_indexdef(i.indexrelid), pg_get_constraintdef(con.oid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
WHERE i.indrelid = 'outcomes_metric'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
ORDER BY con.contype = 'p' DESC, c.relname
"""


def _first_build(cursor: Any, params: dict[str, Any]) -> int:
    """Insert every row into the empty metrics table, building its indexes after the insert.

    Dropping an index needs the table to itself: if a reader holds it for more than two seconds
    the build goes ahead with the indexes in place (slower, same rows).
    """
    cursor.execute(_METRIC_INDEXES_SQL)
    indexes = cursor.fetchall()
    cursor.execute("SELECT current_setting('lock_timeout')")
    lock_timeout = cursor.fetchone()[0]
    try:
        with transaction.atomic():  # a savepoint: a lock timeout leaves the indexes as they were
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            cursor.execute("LOCK TABLE outcomes_metric IN ACCESS EXCLUSIVE MODE")
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
    except OperationalError:  # the savepoint's rollback also undid its SET LOCAL
        cursor.execute(_REBUILD_FIRST_SQL, params)
        return cursor.rowcount
    for name, constraint, _, _ in indexes:
        if constraint:
            cursor.execute(f'ALTER TABLE outcomes_metric DROP CONSTRAINT "{constraint}"')
        else:
            cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(_REBUILD_FIRST_SQL, params)
    written = cursor.rowcount
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, constraint, index_sql, constraint_sql in indexes:
        if constraint:
            cursor.execute(f'ALTER TABLE outcomes_metric ADD CONSTRAINT "{constraint}" {constraint_sql}')
        else:
            cursor.execute(index_sql)
    return written


# The rebuild of a group of indicators reads only their values and compares only their stored rows.
# Every figure is per indicator (cells, comparisons, quintiles, trends and suppression never cross
# one), so groups are independent.
_EVERY_INDICATOR = {
    "__INDICATORS__": "SELECT id FROM outcomes_indicator",
    "__ONLY_VALUES__": "",
    "__STORED__": "outcomes_metric",
}
_GROUP_OF_INDICATORS = {
    "__INDICATORS__": "SELECT unnest(%(indicator_ids)s::bigint[])",
    "__ONLY_VALUES__": " AND indicator_id = ANY(%(indicator_ids)s::bigint[])",
    "__STORED__": "(SELECT * FROM outcomes_metric WHERE indicator_id = ANY(%(indicator_ids)s::bigint[]))",
}


def _scoped(sql: str, group: bool) -> str:
    for marker, text in (_GROUP_OF_INDICATORS if group else _EVERY_INDICATOR).items():
        sql = sql.replace(marker, text)
    return sql


def metrics_rebuild_all(*, workers: int | None = None) -> int:
    """The nightly rebuild: every cell, with the incremental path's formulas, set-based.

    Every figure belongs to one indicator, so the indicators are split into `workers` groups
    (settings.METRICS_REBUILD_WORKERS, one per core the database can give the job) rebuilt at the
    same time, each in its own transaction on its own connection: it holds its indicators'
    recompute locks (incremental recomputes of them wait for it), reads their values once and
    writes only the rows that differ. A group that fails leaves its indicators as they were and
    the others rebuilt; every row is the same either way, so the next rebuild simply finishes it.

    Inside a caller's transaction (tests, a shell that opened one) the rebuild runs as one group
    on the caller's connection, since other connections cannot see its uncommitted values; so it
    does with `workers` 1. Returns how many metric rows were written or removed (0 when nothing
    changed).
    """
    from outcomes.models import Indicator

    workers = settings.METRICS_REBUILD_WORKERS if workers is None else workers
    # By measure, then id, so that each group gets its share of every measure's work.
    indicator_ids = list(Indicator.objects.order_by("measure", "pk").values_list("pk", flat=True))
    if workers <= 1 or len(indicator_ids) < 2 or connection.in_atomic_block:
        with transaction.atomic():
            return _rebuild(None)
    groups = [sorted(indicator_ids[k::workers]) for k in range(min(workers, len(indicator_ids)))]
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="metrics-rebuild") as pool:
        return sum(pool.map(_rebuild_on_own_connection, groups))


def _rebuild_on_own_connection(indicator_ids: list[int]) -> int:
    """One group's rebuild in this thread's own connection and transaction, closed after."""
    try:
        with transaction.atomic():
            return _rebuild(indicator_ids)
    finally:
        connection.close()


def _rebuild(indicator_ids: list[int] | None) -> int:
    """Rebuild the metrics of these indicators (None: every indicator) in the current transaction.

    Reads their values once (one hash aggregate into a temporary table of borough, sub-region and
    London sums), decides secondary suppression for the few cells that need it, then computes
    every metric row and writes only the rows that differ, removing those no cell has any more,
    in one statement.
    """
    group = indicator_ids is not None
    with connection.cursor() as cursor:
        # Big hash aggregates and sorts in memory; JIT compiling costs more than it saves here.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        # Hash joins: the planner cannot estimate the CTEs' sizes and would sort for merge joins.
        cursor.execute("SET LOCAL enable_mergejoin = off")
        params: dict[str, Any] = {"london_id": _london_id(), "indicator_ids": indicator_ids}
        cursor.execute(
            _scoped(
                "SELECT pg_advisory_xact_lock(hashtext('outcomes.metrics'), i::int)"
                " FROM (__INDICATORS__) AS ids(i) ORDER BY i",
                group,
            ),
            params,
        )
        # ON COMMIT DROP only fires at the outermost commit: inside a caller's transaction a
        # second rebuild would find it (a failed rebuild's is rolled back with its savepoint).
        cursor.execute(_DROP_STAGING_SQL)
        cursor.execute(_ORGANISATION_WORDS_SQL)
        cursor.execute(_scoped(_rebuild_cells_sql([row[0] for row in cursor.fetchall()]), group), params)
        cursor.execute("ANALYZE metrics_cells")
        cursor.execute(_REBUILD_POPULATION_SQL)
        cursor.execute("ANALYZE metrics_pop")
        cursor.execute(_REBUILD_CELL_COUNTS_SQL)
        hidden: list[list[Any]] = [[], [], [], []]
        for _, rows in groupby(cursor.fetchall(), key=lambda r: (r[1], r[2], r[3])):
            rows = list(rows)
            for area_id in _hidden_areas(rows):
                for column, value in zip(hidden, (rows[0][1], area_id, rows[0][2], rows[0][3]), strict=True):
                    column.append(value)
        if hidden[0]:
            cursor.execute(_REBUILD_HIDE_SQL, hidden)
        cursor.execute(_scoped("SELECT EXISTS (SELECT 1 FROM __STORED__ m)", group), params)
        if cursor.fetchone()[0]:
            cursor.execute(_scoped(_REBUILD_WRITE_SQL, group), params)
            written = cursor.fetchone()[0]
        elif group:  # the group's first build: the other groups write the table too, so its indexes stay
            cursor.execute(_REBUILD_FIRST_SQL, params)
            written = cursor.rowcount
        else:  # stable: every writer of metrics waits for the locks held here
            written = _first_build(cursor, params)
        cursor.execute(_DROP_STAGING_SQL)
    if written:
        metrics_changed()
    return written
