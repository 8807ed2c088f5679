"""The incremental recompute: the metrics of a set of (indicator, period) cells, as imports and
reviews change their values (docs/statistics.md, docs/performance.md).

For the cells, one INSERT ... SELECT ... GROUP BY GROUPING SETS sums numerators and
denominators across providers for every borough, every ICS sub-region and London in a single
pass over the cells' values, computes the value by measure and its limits (`fragments`), and
upserts `Metric` rows on (indicator, area, period, basis). Then secondary suppression, the
comparison with London and quintiles, and the trends of the periods the cells move. Rows are
only rewritten when something changed; cells with no values left lose their metrics.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import groupby
from typing import Any

from django.db import connection, transaction

from outcomes.aggregation.fragments import (
    AREA_WINDOW,
    AREA_WINDOWS,
    CELL_WINDOW,
    CELL_WINDOWS,
    COLUMNS,
    COMPARISON,
    FIGURES,
    GROUP,
    LOOKBACK,
    QUINTILE,
    RANKING,
    TREND_WINDOW,
    columns,
    computed_cte,
    months,
    population_ctes,
    published,
    rounded_figures,
    trend_case,
    trend_lags,
    trend_sums,
)
from outcomes.aggregation.generation import metrics_changed
from outcomes.aggregation.inequality import metrics_inequalities
from outcomes.statistics import CellArea, GroupCell, group_suppression, secondary_suppression
from stakeholders.models import Area, AreaLevel

# The cells named by the statement's parameters: %(indicator_ids)s and %(periods)s side by side.
CELLS_CTE = """
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),"""


def one_from_values(values_from: str) -> str:
    """The CTEs `v` (the values read `values_from`) and `one`: both bases in one hashed pass over
    the values, each borough's sums (approved only, and approved with submitted), and which
    providers serve each sub-region. The natural key makes a borough's row count its number of
    providers; sub-regions and London add up the boroughs' sums and count their distinct providers
    from the much smaller provider rows."""
    return f"""v AS (
    SELECT v.indicator_id, v.period_start, v.breakdown, v.population_group, v.borough_id,
           b.parent_id AS sub_region_id, v.organisation_id, v.numerator, v.denominator,
           v.status = 'approved' AS approved
    {values_from}
),
-- Both bases in one hashed pass over the values: each borough's sums (approved only, and
-- approved with submitted), and which providers serve each sub-region. The natural key makes
-- a borough's row count its number of providers; sub-regions and London add up the boroughs'
-- sums and count their distinct providers from the much smaller provider rows.
one AS (
    SELECT indicator_id, period_start, breakdown, population_group, sub_region_id, borough_id, organisation_id,
           GROUPING(borough_id) AS by_org,
           sum(numerator) FILTER (WHERE approved) AS num_a, sum(denominator) FILTER (WHERE approved) AS den_a,
           count(*) FILTER (WHERE approved) AS n_a,
           sum(numerator) AS num_p, sum(denominator) AS den_p, count(*) AS n_p
    FROM v
    GROUP BY GROUPING SETS ((indicator_id, period_start, breakdown, population_group, sub_region_id, borough_id),
                            (indicator_id, period_start, breakdown, population_group, sub_region_id, organisation_id))
),
"""  # noqa: S608 - `values_from` is the constant CELL_VALUES


# Each cell's values read through the value_by_cell index (a LATERAL join), so the cost follows
# the cells touched, never the size of the history (a hash join would scan every value). The
# OFFSET 0 keeps the planner from pulling the subquery up into a plain join: it then chose a hash
# join over a sequential scan of every value (990,000 rows for 27,000 wanted, 0.34 s of 0.6 s).
CELL_VALUES = """FROM cells c
    CROSS JOIN LATERAL (
        SELECT * FROM outcomes_outcomevalue v
        WHERE v.indicator_id = c.indicator_id AND v.period_start = c.period_start
          AND v.status IN ('approved', 'submitted')
        OFFSET 0  -- a fence: one index scan a cell
    ) v
    JOIN stakeholders_area b ON b.id = v.borough_id"""


def sums_ctes(one: str) -> str:
    """From `one`: the areas' sums `g` (boroughs, sub-regions, London) and `s`, one row a basis."""
    floats = f"{published('b.num')}::float8 AS numf, {published('b.den')}::float8 AS denf"
    return f"""
{one}
sub_providers AS (
    SELECT indicator_id, period_start, breakdown, population_group, sub_region_id,
           count(*) FILTER (WHERE n_a > 0) AS providers_a, count(*) AS providers_p
    FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, breakdown, population_group, sub_region_id
),
london_providers AS (
    -- distinct providers by hashing (a count(DISTINCT) would sort every provider row)
    SELECT indicator_id, period_start, breakdown, population_group, count(*) FILTER (WHERE approved) AS providers_a,
           count(*) AS providers_p
    FROM (SELECT indicator_id, period_start, breakdown, population_group, organisation_id,
                 bool_or(n_a > 0) AS approved
          FROM one WHERE by_org = 1 GROUP BY indicator_id, period_start, breakdown, population_group, organisation_id) o
    GROUP BY indicator_id, period_start, breakdown, population_group
),
g AS (
    SELECT indicator_id, period_start, breakdown, population_group, borough_id AS area_id, num_a, den_a,
           n_a AS providers_a, n_a, num_p, den_p, n_p AS providers_p
    FROM one WHERE by_org = 0
    UNION ALL
    SELECT b.indicator_id, b.period_start, b.breakdown, b.population_group, b.sub_region_id, sum(b.num_a),
           sum(b.den_a), min(p.providers_a), sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN sub_providers p USING (indicator_id, period_start, breakdown, population_group, sub_region_id)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start, b.breakdown, b.population_group, b.sub_region_id
    UNION ALL
    SELECT b.indicator_id, b.period_start, b.breakdown, b.population_group, %(london_id)s, sum(b.num_a),
           sum(b.den_a), min(p.providers_a), sum(b.n_a), sum(b.num_p), sum(b.den_p), min(p.providers_p)
    FROM one b JOIN london_providers p USING (indicator_id, period_start, breakdown, population_group)
    WHERE b.by_org = 0 GROUP BY b.indicator_id, b.period_start, b.breakdown, b.population_group
),
s AS (
    SELECT g.indicator_id, g.period_start, g.area_id, b.basis, g.breakdown, g.population_group, b.num, b.den,
           b.providers,
           {floats}  -- once a row: a numeric's cast to float8 goes through text
    FROM g CROSS JOIN LATERAL (VALUES ('approved', g.num_a, g.den_a, g.providers_a, g.n_a),
                                     ('provisional', g.num_p, g.den_p, g.providers_p, 1))
                              AS b(basis, num, den, providers, n)
    WHERE b.n > 0
),
"""  # noqa: S608 - assembled only from constants


def recompute_sql() -> str:
    """The cells' values into every area's metric rows (both bases), writing only what changed,
    and removing the metrics of areas with no values left. Returns the rows written or removed."""
    computed = CELLS_CTE + sums_ctes(one_from_values(CELL_VALUES)) + population_ctes("s") + computed_cte()
    return f"""{computed},
-- Metrics of the cells whose areas have no values left (rejected, or no longer approved).
deleted AS (
    DELETE FROM outcomes_metric m USING cells c
    WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
      AND NOT EXISTS (SELECT 1 FROM s WHERE s.indicator_id = m.indicator_id AND s.period_start = m.period_start
                      AND s.area_id = m.area_id AND s.basis = m.basis AND s.breakdown = m.breakdown
                      AND s.population_group = m.population_group)
    RETURNING 1
),
written AS (
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, breakdown, population_group, numerator,
    denominator, population, providers, value, lower95, upper95, lower998, upper998, suppressed, secondary_suppressed,
    comparison, quintile, trend, computed_at)
SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, num, den, population, providers,
       {rounded_figures()},
       suppressed, false, 'not_compared', NULL, '', now()
FROM computed
ON CONFLICT (indicator_id, period_start, area_id, basis, breakdown, population_group) DO UPDATE SET
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
"""  # noqa: S608 - assembled only from constants


def compare_sql() -> str:
    """Comparison with London and quintiles among boroughs for the cells, rewriting only rows that change."""
    return f"""
WITH cells AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
),
m AS (
    SELECT m.id, m.indicator_id, m.period_start, m.basis, m.area_id, m.breakdown, m.population_group, m.value,
           m.lower95, m.upper95, m.lower998, m.upper998, m.suppressed, m.secondary_suppressed AS hidden, a.level,
           i.polarity, i.measure
    FROM outcomes_metric m
    JOIN cells c ON c.indicator_id = m.indicator_id AND c.period_start = m.period_start
    JOIN stakeholders_area a ON a.id = m.area_id
    JOIN outcomes_indicator i ON i.id = m.indicator_id
),
-- London's value beside every row of its cell (a window, not a self-join: the planner
-- cannot estimate the unnest() cells and would pick a quadratic nested loop).
by_area AS (
    SELECT m.*, {AREA_WINDOWS}
    FROM m
    {AREA_WINDOW}
),
windowed AS (
    SELECT m.*, {CELL_WINDOWS}
    FROM (SELECT m.*, {RANKING} FROM by_area m) m
    {CELL_WINDOW}
),
ranked AS (
    SELECT m.id,
{QUINTILE},
{COMPARISON}    FROM windowed m
)
UPDATE outcomes_metric t SET quintile = r.quintile, comparison = r.comparison
FROM ranked r
WHERE t.id = r.id AND (t.quintile, t.comparison) IS DISTINCT FROM (r.quintile, r.comparison)
"""  # noqa: S608 - assembled only from constants


def trend_sql() -> str:
    """The trends of the touched periods and the four after each (a changed period moves the
    windows ending there), reading the four before; rewriting only rows that change."""
    return f"""
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
idx AS (
    -- A period's position on its indicator's calendar: months, quarters or years since 2000.
    SELECT i.id, i.measure, i.period_type,
           {LOOKBACK} AS lookback,
           CASE i.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS months
    FROM outcomes_indicator i JOIN touched t ON t.indicator_id = i.id
),
m AS (
    SELECT m.id, m.indicator_id, m.area_id, b.basis, m.breakdown, m.population_group, m.period_start, m.trend,
           m.suppressed,
           m.secondary_suppressed AS hidden, i.measure,
           {published("m.numerator")}::float8 AS x, m.value::float8 AS y,
           CASE i.measure WHEN 'proportion' THEN {published("m.denominator")}::float8
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           -- relative to the earliest touched period, so the sums stay small
           ({months("m.period_start")} - {months("t.since")}) / i.months AS t,
           t.since, t.until + i.lookback AS upto
    FROM outcomes_metric m
    JOIN touched t ON t.indicator_id = m.indicator_id
    JOIN idx i ON i.id = m.indicator_id
    -- The four periods before the earliest touched one are read, never written, and not split
    -- (SPAN_CTE): there an approved row that is also the provisional one is read for both bases.
    CROSS JOIN LATERAL (SELECT m.basis UNION ALL SELECT 'provisional' WHERE m.also_provisional) b(basis)
    WHERE m.period_start BETWEEN t.since - i.lookback AND t.until + i.lookback
),
lagged AS (
    SELECT m.*,
{trend_lags()}    FROM m
    {TREND_WINDOW}
),
sums AS (
    SELECT lagged.*,
{trend_sums()}    FROM lagged
),
stat AS (
    SELECT id, basis, trend, period_start, since, upto,
{trend_case("new_trend")}    FROM sums
)
UPDATE outcomes_metric t SET trend = s.new_trend
FROM stat s
WHERE t.id = s.id AND t.basis = s.basis AND s.period_start BETWEEN s.since AND s.upto
  AND t.trend IS DISTINCT FROM s.new_trend
"""  # noqa: S608 - assembled only from constants and float literals, never user input


# The incremental statements work on both bases' rows. Before them, every approved row that is
# also the provisional one, in the periods they write (the touched ones, and the four after whose
# trends they move), is split into its two rows; after them, the pairs that are the same in every
# figure are folded back into one, as the rebuild folds them. Neither counts as a write: on their
# own they leave the table as it was. The trend's four periods before are only read, and it reads
# such a row there for both bases, so they are not split: a change to the latest month splits and
# folds one period's rows, not five.
SPAN_CTE = f"""
WITH touched AS (
    SELECT c.indicator_id, min(c.period_start) AS since, max(c.period_start) AS until
    FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]) AS c(indicator_id, period_start)
    GROUP BY c.indicator_id
),
span AS (
    SELECT t.indicator_id, t.since AS lo, t.until + {LOOKBACK} AS hi
    FROM touched t JOIN outcomes_indicator i ON i.id = t.indicator_id
)"""  # noqa: S608 - a constant


def split_sql() -> str:
    return f"""{SPAN_CTE},
split AS (
    UPDATE outcomes_metric m SET also_provisional = false
    FROM span
    WHERE m.indicator_id = span.indicator_id AND m.period_start BETWEEN span.lo AND span.hi AND m.also_provisional
    RETURNING m.*
)
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {columns(GROUP)}, {columns(COLUMNS)},
    computed_at)
SELECT indicator_id, area_id, period_start, 'provisional', {columns(GROUP)}, {columns(COLUMNS)}, computed_at
FROM split
"""  # noqa: S608 - a constant


def fold_sql() -> str:
    return f"""{SPAN_CTE},
same AS (
    SELECT a.id AS approved_id, p.id AS provisional_id
    FROM span
    JOIN outcomes_metric a
      ON a.indicator_id = span.indicator_id AND a.period_start BETWEEN span.lo AND span.hi AND a.basis = 'approved'
    JOIN outcomes_metric p
      ON p.indicator_id = a.indicator_id AND p.period_start = a.period_start AND p.area_id = a.area_id
     AND p.breakdown = a.breakdown AND p.population_group = a.population_group AND p.basis = 'provisional'
    WHERE ({columns(FIGURES, "a")}) IS NOT DISTINCT FROM ({columns(FIGURES, "p")})
),
folded AS (
    DELETE FROM outcomes_metric m USING same WHERE m.id = same.provisional_id RETURNING 1
)
UPDATE outcomes_metric m SET also_provisional = true FROM same WHERE m.id = same.approved_id
"""  # noqa: S608 - a constant


CELL_COUNTS_SQL = """
SELECT m.id, m.indicator_id, m.period_start, m.basis, i.measure, a.level, a.parent_id, m.area_id,
       m.numerator, m.denominator, m.secondary_suppressed, m.breakdown, m.population_group
FROM (SELECT DISTINCT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[])) c(indicator_id, period_start)
CROSS JOIN LATERAL (
    SELECT * FROM outcomes_metric m WHERE m.indicator_id = c.indicator_id AND m.period_start = c.period_start
) m
JOIN outcomes_indicator i ON i.id = m.indicator_id
JOIN stakeholders_area a ON a.id = m.area_id
ORDER BY m.indicator_id, m.period_start, m.basis, m.breakdown, m.population_group
"""

# Built once: the statements are the same on every call.
RECOMPUTE_SQL = recompute_sql()
COMPARE_SQL = compare_sql()
TREND_SQL = trend_sql()
SPLIT_SQL = split_sql()
FOLD_SQL = fold_sql()

# The counts each measure publishes (outcomes.dashboards): a mean's numerator never is.
_PUBLISHED_COUNTS = {"count": (8,), "rate": (8,), "proportion": (8, 9), "mean": (9,)}


def london_id() -> int:
    return Area.objects.only("pk").get(level=AreaLevel.LONDON).pk


def hidden_areas(rows: list[Any]) -> set[int]:
    """The areas of one cell and basis to hide, from its all-people rows as CELL_COUNTS_SQL selects them."""
    hidden: set[int] = set()
    for column in _PUBLISHED_COUNTS[rows[0][4]]:
        areas = [CellArea(key=r[7], level=r[5], parent=r[6], count=float(r[column] or 0)) for r in rows]
        hidden |= secondary_suppression(areas)
    return hidden


@lru_cache(maxsize=4096)
def _group_suppression(
    cells: tuple[GroupCell, ...], totals: tuple[GroupCell, ...], hidden_totals: frozenset[int], exhaustive: bool
) -> frozenset[tuple[Any, str]]:
    """statistics.group_suppression, remembered: a cell's two bases are usually the same table."""
    return frozenset(group_suppression(list(cells), list(totals), hidden_totals, exhaustive=exhaustive))


def hidden_rows(rows: list[Any]) -> set[tuple[int, str, str]]:
    """The (area, breakdown, group) rows of one cell and basis to hide, from its rows as CELL_COUNTS_SQL
    selects them (every group's, headline first).

    The all-people rows exactly as before groups (`hidden_areas`); then each breakdown's groups
    against both the area tree and their area's all-people total (statistics.group_suppression),
    never hiding an all-people figure for a group's sake.
    """
    headline = [r for r in rows if r[12] == ""]
    hidden_headline = hidden_areas(headline) if headline else set()
    hidden = {(area, "", "") for area in hidden_headline}
    groups = [r for r in rows if r[12] != ""]
    if not groups:
        return hidden
    measure = rows[0][4]
    for breakdown, members in groupby(groups, key=lambda r: r[11]):
        members = list(members)
        for column in _PUBLISHED_COUNTS[measure]:
            cells = [
                GroupCell(area=r[7], level=r[5], parent=r[6], group=r[12], count=float(r[column] or 0)) for r in members
            ]
            totals = [
                GroupCell(area=r[7], level=r[5], parent=r[6], group="", count=float(r[column] or 0)) for r in headline
            ]
            for area, group in _group_suppression(
                tuple(cells), tuple(totals), frozenset(hidden_headline), breakdown != "deprivation"
            ):
                if group:
                    hidden.add((area, breakdown, group))
                else:  # an all-people figure, as a last resort (statistics.group_suppression)
                    hidden.add((area, "", ""))
                    hidden_headline.add(area)
    return hidden


def _secondary_suppression(cursor: Any, params: dict[str, Any]) -> int:
    """Flag the totals to hide so that no suppressed borough can be worked out by subtraction.

    A pass over the cells' metric rows (39 areas a cell), never over the stored values.
    """
    cursor.execute(CELL_COUNTS_SQL, params)
    ids: list[int] = []
    flags: list[bool] = []
    for _, rows in groupby(cursor.fetchall(), key=lambda r: (r[1], r[2], r[3])):
        rows = list(rows)
        hidden = hidden_rows(rows)
        for r in rows:
            if ((r[7], r[11], r[12]) in hidden) != r[10]:
                ids.append(r[0])
                flags.append((r[7], r[11], r[12]) in hidden)
    if ids:
        cursor.execute(
            "UPDATE outcomes_metric m SET secondary_suppressed = f.flag"
            " FROM unnest(%s::bigint[], %s::boolean[]) AS f(id, flag) WHERE m.id = f.id",
            [ids, flags],
        )
    return len(ids)


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
        "london_id": london_id(),
    }
    written = 0
    with connection.cursor() as cursor:
        # One recompute of a cell at a time: concurrent imports touching it wait here.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('outcomes.metrics'), i::int)"
            " FROM (SELECT DISTINCT unnest(%(indicator_ids)s::bigint[]) AS i) ids ORDER BY i",
            params,
        )
        # No JIT, as the rebuild: the planner's cost of reading a cell's values grows with the
        # history, and past 5,000,000 stored values it crossed jit_above_cost, so the main
        # statement spent 0.16 s compiling ~200 functions to run for 0.2 s (docs/performance.md,
        # "Metrics aggregation"). Set back after, for a caller's transaction.
        cursor.execute("SELECT current_setting('jit')")
        jit = cursor.fetchone()[0]
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(SPLIT_SQL, params)
        cursor.execute(RECOMPUTE_SQL, params)
        written += cursor.fetchone()[0]
        # Secondary suppression first: a hidden total is no benchmark and breaks a trend's five periods.
        written += _secondary_suppression(cursor, params)
        cursor.execute(COMPARE_SQL, params)
        written += cursor.rowcount
        cursor.execute(TREND_SQL, params)
        written += cursor.rowcount
        cursor.execute(FOLD_SQL, params)
    # The gaps between groups, from the group rows just written (both bases).
    written += metrics_inequalities("cells", params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, true)", [jit])
    if written:
        metrics_changed()
    return written


def all_cells() -> list[tuple[int, str]]:
    """Every (indicator, period) that has values or metrics."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indicator_id, period_start FROM outcomes_outcomevalue"
            " UNION SELECT indicator_id, period_start FROM outcomes_metric"
        )
        return [(row[0], row[1].isoformat()) for row in cursor.fetchall()]
