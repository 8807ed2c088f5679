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
from itertools import groupby
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction

from outcomes.statistics import SUPPRESS_BELOW, Z95, Z998, CellArea, exact_poisson, secondary_suppression
from stakeholders.models import Area, AreaLevel

BASES = ("approved", "provisional")


def _exact_table() -> str:
    """A VALUES list of exact Poisson limits for 0..9 events at both levels."""
    rows = []
    for x in range(10):
        l95, u95 = exact_poisson(x, 95)
        l998, u998 = exact_poisson(x, 99.8)
        rows.append(f"({x}, {l95!r}, {u95!r}, {l998!r}, {u998!r})")
    return "(VALUES " + ", ".join(rows) + ") AS e(x, l95, u95, l998, u998)"


EXACT = _exact_table()

# The limits of a Poisson count `n` (a numeric expression) at one level, as events.
_BYAR_LOW = "({n} * power(1 - 1 / (9 * {n}) - {z} / (3 * sqrt({n})), 3))"
_BYAR_HIGH = "(({n} + 1) * power(1 - 1 / (9 * ({n} + 1)) + {z} / (3 * sqrt({n} + 1)), 3))"
# Wilson limits as percentages of x out of n.
_WILSON_LOW = "(100 * (2 * {x} + {z}^2 - {z} * sqrt({z}^2 + 4 * {x} * (1 - {x} / {n}))) / (2 * ({n} + {z}^2)))"
_WILSON_HIGH = "(100 * (2 * {x} + {z}^2 + {z} * sqrt({z}^2 + 4 * {x} * (1 - {x} / {n}))) / (2 * ({n} + {z}^2)))"


def _limit(side: str, z: float, exact_column: str) -> str:
    """SQL for one limit of the metric in `s` (the grouped sums), by measure."""
    byar = (_BYAR_LOW if side == "low" else _BYAR_HIGH).format(n="s.num::float8", z=repr(z))
    events = f"(CASE WHEN s.num < 10 THEN e.{exact_column} ELSE {byar} END)"
    wilson = (_WILSON_LOW if side == "low" else _WILSON_HIGH).format(x="s.num::float8", n="s.den::float8", z=repr(z))
    return (
        "CASE i.measure"
        f" WHEN 'proportion' THEN CASE WHEN s.den > 0 AND s.num <= s.den THEN {wilson} END"
        f" WHEN 'count' THEN {events}"
        f" WHEN 'rate' THEN CASE WHEN p.population > 0 THEN {events} / p.population * 100000 END"
        " END"
    )


_COMPUTED_CTES = f"""
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
    SELECT g.indicator_id, g.period_start, g.area_id, b.basis, b.num, b.den, b.providers
    FROM g CROSS JOIN LATERAL (VALUES ('approved', g.num_a, g.den_a, g.providers_a, g.n_a),
                                     ('provisional', g.num_p, g.den_p, g.providers_p, 1))
                              AS b(basis, num, den, providers, n)
    WHERE b.n > 0
),
-- Each area's population in the year nearest each period's (looked up once per area and year).
years AS (
    SELECT DISTINCT s.area_id, extract(year FROM s.period_start)::int AS year FROM s
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
    SELECT s.indicator_id, s.area_id, s.period_start, s.basis, s.num, s.den, s.providers, p.population,
        CASE i.measure
            WHEN 'proportion' THEN CASE WHEN s.den > 0 THEN 100 * s.num / s.den END
            WHEN 'mean' THEN CASE WHEN s.den > 0 THEN s.num / s.den END
            WHEN 'count' THEN s.num
            WHEN 'rate' THEN CASE WHEN p.population > 0 THEN s.num / p.population * 100000 END
        END AS value,
        {_limit("low", Z95, "l95")} AS lower95,
        {_limit("high", Z95, "u95")} AS upper95,
        {_limit("low", Z998, "l998")} AS lower998,
        {_limit("high", Z998, "u998")} AS upper998,
        -- Disclosure: counts below 5, or a ratio with a part below 5, are suppressed below London.
        (a.level <> 'london' AND (s.num < 5 OR (i.measure IN ('proportion', 'mean') AND s.den < 5)))
            AS suppressed
    FROM s
    JOIN outcomes_indicator i ON i.id = s.indicator_id
    JOIN stakeholders_area a ON a.id = s.area_id
    LEFT JOIN pop p ON p.area_id = s.area_id AND p.year = extract(year FROM s.period_start)::int
    LEFT JOIN {EXACT} ON e.x = s.num
)
"""  # noqa: S608 - assembled only from constants and float literals, never user input

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
SELECT indicator_id, area_id, period_start, basis, num, den, population, providers,
       round(value::numeric, 6), round(lower95::numeric, 6), round(upper95::numeric, 6),
       round(lower998::numeric, 6), round(upper998::numeric, 6), suppressed, false, 'not_compared', NULL, '',
       now()
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
_RECOMPUTE_SQL += _RECOMPUTE_WRITE

# A borough's quintile among its cell's unsuppressed boroughs (window `w`), and every area's
# comparison with London (`london_value`), over rows `m` with the area's level and the polarity.
_QUINTILE_AND_COMPARISON = """        CASE WHEN m.level = 'borough' AND m.value IS NOT NULL AND NOT m.suppressed
                  AND count(*) OVER w >= 5
             THEN ((rank() OVER (w ORDER BY CASE WHEN m.polarity = 'lower' THEN m.value ELSE -m.value END) - 1)
                   * 5 / count(*) OVER w) + 1
        END AS quintile,
        CASE
            WHEN m.level = 'london' OR m.london_value IS NULL OR m.lower95 IS NULL OR m.suppressed THEN 'not_compared'
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
           m.upper998, m.suppressed, a.level, i.polarity,
           -- London's value beside every row of its cell (a window, not a self-join: the planner
           -- cannot estimate the unnest() cells and would pick a quadratic nested loop).
           max(m.value) FILTER (WHERE m.area_id = %(london_id)s)
               OVER (PARTITION BY m.indicator_id, m.period_start, m.basis) AS london_value
    FROM outcomes_metric m
    JOIN cells c ON c.indicator_id = m.indicator_id AND c.period_start = m.period_start
    JOIN stakeholders_area a ON a.id = m.area_id
    JOIN outcomes_indicator i ON i.id = m.indicator_id
),
ranked AS (
    SELECT m.id,
{_QUINTILE_AND_COMPARISON}    FROM m
    WINDOW w AS (PARTITION BY m.indicator_id, m.period_start, m.basis,
                 (m.level = 'borough' AND m.value IS NOT NULL AND NOT m.suppressed))
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
# The window sums of the last five periods (window `win`, periods numbered `t`), then the test.
_TREND_SUMS = """        count(*) OVER win AS k,
        bool_or(suppressed OR y IS NULL OR w IS NULL OR w <= 0) OVER win AS gap,
        sum(w) OVER win AS sw, sum(x) OVER win AS sx, sum(w * t) OVER win AS swt, sum(w * t * t) OVER win AS swtt,
        sum(x * t) OVER win AS sxt,
        sum(t) OVER win AS st, sum(t * t) OVER win AS stt, sum(y) OVER win AS sy, sum(y * y) OVER win AS syy,
        sum(t * y) OVER win AS sty
"""
_TREND_CASE = f"""        CASE
            WHEN k < 5 OR gap THEN ''
            WHEN measure = 'mean' THEN (
                SELECT CASE WHEN sxx <= 0 THEN ''
                            WHEN resid <= 0 THEN CASE WHEN sxy > 0 THEN 'increasing' WHEN sxy < 0 THEN 'decreasing'
                                                      ELSE 'no_change' END
                            WHEN abs(sxy / sxx) / sqrt(resid / 3 / sxx) > {T_3DF_975!r}
                                THEN CASE WHEN sxy > 0 THEN 'increasing' ELSE 'decreasing' END
                            ELSE 'no_change' END
                FROM (SELECT stt - st * st / 5 AS sxx, sty - st * sy / 5 AS sxy,
                             (syy - sy * sy / 5) - (sty - st * sy / 5) ^ 2 / nullif(stt - st * st / 5, 0) AS resid) r)
            ELSE (
                SELECT CASE WHEN var <= 0 THEN 'no_change'
                            WHEN u * u / var > {CHI2_1DF_95!r}
                                THEN CASE WHEN u > 0 THEN 'increasing' ELSE 'decreasing' END
                            ELSE 'no_change' END
                FROM (SELECT sxt - sx * swt / sw AS u,
                             CASE WHEN measure = 'proportion'
                                  THEN (sx / sw) * (1 - sx / sw) * (swtt - swt * swt / sw)
                                  ELSE sx * (swtt / sw - (swt / sw) ^ 2) END AS var) r)
        END AS new_trend
"""  # noqa: S608 - float literals only
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
    SELECT m.id, m.indicator_id, m.area_id, m.basis, m.period_start, m.trend, m.suppressed, i.measure,
           m.numerator::float8 AS x, m.value::float8 AS y,
           CASE i.measure WHEN 'proportion' THEN m.denominator::float8
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           -- relative to the earliest touched period, so the sums stay small
           ((extract(year FROM m.period_start) - extract(year FROM t.since)) * 12
            + extract(month FROM m.period_start) - extract(month FROM t.since))::float8 / i.months AS t,
           t.since, t.until + i.lookback AS upto
    FROM outcomes_metric m
    JOIN touched t ON t.indicator_id = m.indicator_id
    JOIN idx i ON i.id = m.indicator_id
    -- the four periods before the earliest touched one are read, never written
    WHERE m.period_start BETWEEN t.since - i.lookback AND t.until + i.lookback
),
sums AS (
    SELECT m.*,
{_TREND_SUMS}    FROM m
    WINDOW win AS (PARTITION BY indicator_id, area_id, basis ORDER BY t RANGE BETWEEN 4 PRECEDING AND CURRENT ROW)
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
        cursor.execute(_RECOMPUTE_SQL, params)
        written += cursor.fetchone()[0]
        cursor.execute(_COMPARE_SQL, params)
        written += cursor.rowcount
        cursor.execute(_TREND_SQL, params)
        written += cursor.rowcount
        written += _secondary_suppression(cursor, params)
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


# The nightly rebuild computes every metric row, complete, into temporary tables with the same
# formulas as the incremental statements above, then writes the differences in one statement.

# 1. Each borough's sums, and which providers serve each sub-region, in two plain GROUP BYs
# (a CREATE TABLE AS, so PostgreSQL can run them in parallel; grouping sets never are).
_REBUILD_BOROUGH_SUMS_SQL = """
CREATE TEMPORARY TABLE metrics_borough_sums ON COMMIT DROP AS
SELECT v.indicator_id, v.period_start, v.borough_id,
       sum(v.numerator) FILTER (WHERE v.status = 'approved') AS num_a,
       sum(v.denominator) FILTER (WHERE v.status = 'approved') AS den_a,
       count(*) FILTER (WHERE v.status = 'approved') AS n_a,
       sum(v.numerator) AS num_p, sum(v.denominator) AS den_p, count(*) AS n_p
FROM outcomes_outcomevalue v
WHERE v.status IN ('approved', 'submitted')
GROUP BY v.indicator_id, v.period_start, v.borough_id
"""
_REBUILD_PROVIDERS_SQL = """
CREATE TEMPORARY TABLE metrics_providers ON COMMIT DROP AS
SELECT v.indicator_id, v.period_start, b.parent_id AS sub_region_id, v.organisation_id,
       count(*) FILTER (WHERE v.status = 'approved') AS n_a
FROM outcomes_outcomevalue v
JOIN stakeholders_area b ON b.id = v.borough_id
WHERE v.status IN ('approved', 'submitted')
GROUP BY v.indicator_id, v.period_start, b.parent_id, v.organisation_id
"""
# ... read in the shape of the incremental path's `one` (see _ONE_FROM_VALUES).
_ONE_FROM_SUMS = """one AS (
    SELECT s.indicator_id, s.period_start, b.parent_id AS sub_region_id, s.borough_id, NULL::bigint AS organisation_id,
           0 AS by_org, s.num_a, s.den_a, s.n_a, s.num_p, s.den_p, s.n_p
    FROM metrics_borough_sums s JOIN stakeholders_area b ON b.id = s.borough_id
    UNION ALL
    SELECT p.indicator_id, p.period_start, p.sub_region_id, NULL, p.organisation_id, 1, NULL, NULL, p.n_a,
           NULL, NULL, NULL
    FROM metrics_providers p
),"""

# 2. Sums, values, limits and primary suppression of every cell.
_REBUILD_STAGE_SQL = (
    "CREATE TEMPORARY TABLE metrics_stage ON COMMIT DROP AS WITH"
    + _COMPUTED_CTES.replace("__ONE__", _ONE_FROM_SUMS)
    + """
SELECT indicator_id, area_id, period_start, basis, num::numeric(20, 4) AS numerator, den::bigint AS denominator,
       population, providers, round(value::numeric, 6) AS value, round(lower95::numeric, 6) AS lower95,
       round(upper95::numeric, 6) AS upper95, round(lower998::numeric, 6) AS lower998,
       round(upper998::numeric, 6) AS upper998, suppressed
FROM computed
"""
)

# 3. Comparison, quintiles and trend over the staged rows (windows, nothing read twice).
_REBUILD_FINAL_SQL = f"""
CREATE TEMPORARY TABLE metrics_final ON COMMIT DROP AS
WITH m AS (
    SELECT s.*, a.level, a.parent_id, i.polarity, i.measure,
           max(s.value) FILTER (WHERE s.area_id = %(london_id)s)
               OVER (PARTITION BY s.indicator_id, s.period_start, s.basis) AS london_value,
           s.numerator::float8 AS x, s.value::float8 AS y,
           CASE i.measure WHEN 'proportion' THEN s.denominator::float8
                          WHEN 'rate' THEN s.population::float8 ELSE 1 END AS w,
           ((extract(year FROM s.period_start) - extract(year FROM f.since)) * 12
            + extract(month FROM s.period_start) - extract(month FROM f.since))::float8
            / CASE i.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS t
    FROM metrics_stage s
    JOIN (SELECT indicator_id, min(period_start) AS since FROM metrics_stage GROUP BY indicator_id) f
        USING (indicator_id)
    JOIN stakeholders_area a ON a.id = s.area_id
    JOIN outcomes_indicator i ON i.id = s.indicator_id
),
ranked AS (
    SELECT m.*,
{_QUINTILE_AND_COMPARISON}    FROM m
    WINDOW w AS (PARTITION BY m.indicator_id, m.period_start, m.basis,
                 (m.level = 'borough' AND m.value IS NOT NULL AND NOT m.suppressed))
),
sums AS (
    SELECT ranked.*,
{_TREND_SUMS}    FROM ranked
    WINDOW win AS (PARTITION BY indicator_id, area_id, basis ORDER BY t RANGE BETWEEN 4 PRECEDING AND CURRENT ROW)
)
SELECT indicator_id, area_id, period_start, basis, numerator, denominator, population, providers, value,
       lower95, upper95, lower998, upper998, suppressed, false AS secondary_suppressed, comparison,
       quintile::smallint AS quintile,
{_TREND_CASE}, measure, level, parent_id
FROM sums
"""  # noqa: S608 - assembled only from constants and float literals, never user input

# 4. Secondary suppression, in Python, only for the cells and bases where some borough's
# published count is below the threshold (no other cell can have a borough pinned).
_REBUILD_CELL_COUNTS_SQL = f"""
SELECT NULL, f.indicator_id, f.period_start, f.basis, f.measure, f.level, f.parent_id, f.area_id,
       f.numerator, f.denominator
FROM metrics_final f
WHERE (f.indicator_id, f.period_start, f.basis) IN (
    SELECT indicator_id, period_start, basis FROM metrics_final
    WHERE level = 'borough'
      AND ((measure <> 'mean' AND coalesce(numerator, 0) < {SUPPRESS_BELOW})
           OR (measure IN ('proportion', 'mean') AND coalesce(denominator, 0) < {SUPPRESS_BELOW})))
ORDER BY f.indicator_id, f.period_start, f.basis
"""  # noqa: S608 - a constant

# 5. One upsert that writes only rows that differ, and one delete of rows no cell has any more.
_COLUMNS = (
    "numerator, denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed,"
    " secondary_suppressed, comparison, quintile, trend"
)
_CORE = _COLUMNS.split(", secondary_suppressed")[0]


def _qualified(columns: str, table: str) -> str:
    return ", ".join(f"{table}.{c.strip()}" for c in columns.split(","))


_REBUILD_WRITE_SQL = f"""
WITH written AS (
    INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {_COLUMNS}, computed_at)
    SELECT indicator_id, area_id, period_start, basis, numerator, denominator, population, providers, value,
           lower95, upper95, lower998, upper998, suppressed, secondary_suppressed, comparison, quintile,
           new_trend, now()
    FROM metrics_final
    ON CONFLICT (indicator_id, area_id, period_start, basis) DO UPDATE SET
        {", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _COLUMNS.split(","))},
        -- as the incremental path: computed_at moves when the figures do
        computed_at = CASE WHEN ({_qualified(_CORE, "outcomes_metric")}) IS DISTINCT FROM
                                ({_qualified(_CORE, "EXCLUDED")})
                           THEN EXCLUDED.computed_at ELSE outcomes_metric.computed_at END
    WHERE ({_qualified(_COLUMNS, "outcomes_metric")}) IS DISTINCT FROM ({_qualified(_COLUMNS, "EXCLUDED")})
    RETURNING 1
),
deleted AS (
    DELETE FROM outcomes_metric m
    WHERE NOT EXISTS (SELECT 1 FROM metrics_final f WHERE f.indicator_id = m.indicator_id
                      AND f.area_id = m.area_id AND f.period_start = m.period_start AND f.basis = m.basis)
    RETURNING 1
)
SELECT (SELECT count(*) FROM written) + (SELECT count(*) FROM deleted)
"""  # noqa: S608 - assembled only from constants


_DROP_STAGING_SQL = "DROP TABLE IF EXISTS metrics_borough_sums, metrics_providers, metrics_stage, metrics_final"


@transaction.atomic
def metrics_rebuild_all() -> int:
    """The nightly rebuild: every cell, with the incremental path's formulas, set-based.

    Computes every metric row into temporary tables (one pass over the values, then window
    functions over the staged rows), then writes only the rows that differ and removes those no
    cell has any more. Returns how many metric rows were written or removed (0 when nothing
    changed). Holds every indicator's recompute lock, so incremental recomputes wait for it.
    """
    with connection.cursor() as cursor:
        # Big hash aggregates and sorts in memory; JIT compiling costs more than it saves here.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('outcomes.metrics'), id::int) FROM outcomes_indicator ORDER BY id"
        )
        params = {"london_id": _london_id()}
        # ON COMMIT DROP only fires at the outermost commit: inside a caller's transaction a
        # second rebuild would find them (a failed rebuild's are rolled back with its savepoint).
        cursor.execute(_DROP_STAGING_SQL)
        cursor.execute(_REBUILD_BOROUGH_SUMS_SQL)
        cursor.execute(_REBUILD_PROVIDERS_SQL)
        cursor.execute(_REBUILD_STAGE_SQL, params)
        cursor.execute(_REBUILD_FINAL_SQL, params)
        cursor.execute(_REBUILD_CELL_COUNTS_SQL)
        keys: list[list[Any]] = [[], [], [], []]
        for _, rows in groupby(cursor.fetchall(), key=lambda r: (r[1], r[2], r[3])):
            rows = list(rows)
            for area_id in _hidden_areas(rows):
                for column, value in zip(keys, (rows[0][1], area_id, rows[0][2], rows[0][3]), strict=True):
                    column.append(value)
        if keys[0]:
            cursor.execute(
                "UPDATE metrics_final f SET secondary_suppressed = true"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::text[]) AS h(i, a, p, b)"
                " WHERE f.indicator_id = h.i AND f.area_id = h.a AND f.period_start = h.p AND f.basis = h.b",
                keys,
            )
        cursor.execute(_REBUILD_WRITE_SQL)
        written = cursor.fetchone()[0]
        cursor.execute(_DROP_STAGING_SQL)
    if written:
        metrics_changed()
    return written
