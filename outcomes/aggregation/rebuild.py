"""The nightly rebuild: every metric row computed with the incremental path's formulas
(`fragments`), reading the values once, writing only the rows that differ (docs/performance.md,
"Metrics aggregation").

1. One hashed pass over the values, as the bare sums would make it, into a staging table of
   every cell's borough, sub-region and London sums of both bases (`cells_sql`).
2. Secondary suppression, in Python, only for the cells where some borough's published count is
   below the threshold.
3. Values, limits and primary suppression; comparison and quintiles in one window per cell; the
   trend by lags; then one diff against the stored rows that inserts, updates and deletes only
   what differs (`write_sql`): a rebuild with nothing changed writes nothing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from psycopg2 import sql

from outcomes.aggregation.fragments import (
    AREA_WINDOW,
    AREA_WINDOWS,
    CELL_WINDOW,
    CELL_WINDOWS,
    COLUMNS,
    COMPARISON,
    CORE,
    EXACT,
    FIGURES,
    GROUP,
    LIMITS,
    LOOKBACK,
    QUINTILE,
    RANKING,
    TREND_WINDOW,
    columns,
    computed_cte,
    limit,
    months,
    population_ctes,
    published,
    round6,
    trend_case,
    trend_lags,
    trend_sums,
)
from outcomes.aggregation.generation import metrics_changed
from outcomes.aggregation.incremental import hidden_rows, london_id
from outcomes.aggregation.inequality import metrics_inequalities
from outcomes.statistics import SUPPRESS_BELOW


@dataclass(frozen=True)
class Scope:
    """Which indicators a rebuild reads and writes: every one, or a group named by the
    statement's %(indicator_ids)s parameter. Every figure belongs to one indicator, so groups
    are independent."""

    indicators: str  # a query of the indicator ids
    only_values: str  # the condition on outcome values, added to the WHERE
    stored: str  # the stored metric rows


EVERY_INDICATOR = Scope(indicators="SELECT id FROM outcomes_indicator", only_values="", stored="outcomes_metric")
GROUP_OF_INDICATORS = Scope(
    indicators="SELECT unnest(%(indicator_ids)s::bigint[])",
    only_values=" AND indicator_id = ANY(%(indicator_ids)s::bigint[])",
    stored="(SELECT * FROM outcomes_metric WHERE indicator_id = ANY(%(indicator_ids)s::bigint[]))",
)


# 1. The staging table ---------------------------------------------------------------------
# Each borough's sums by status and organisation word, with a bitmap of its providers
# (organisation id 64w + b is bit b of word w). Then the boroughs', sub-regions' and London's sums
# of both bases from those rows alone, one row a cell and area with both bases side by side: a
# sub-region's distinct providers are the set bits of the OR of its boroughs' bitmaps, so the
# values are never read a second time. Sums go on as bigints (ten-thousandths: numerators have
# four decimals), far cheaper than numeric sums; a borough sum too large for that is added on as
# numeric.
def _values_ctes(scope: Scope) -> str:
    return f"""
WITH v AS MATERIALIZED (
    SELECT indicator_id, period_start, breakdown, population_group, borough_id, status = 'approved' AS approved,
           organisation_id >> 6 AS word, bit_or(1::bigint << (organisation_id & 63)::int) AS bits,
           sum(numerator) AS num, sum(denominator) AS den
    FROM outcomes_outcomevalue
    WHERE status IN ('approved', 'submitted'){scope.only_values}
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
x AS (
    SELECT v.*, b.parent_id,
           CASE WHEN v.num < 900000000000000 THEN (v.num * 10000)::bigint END AS num4,
           CASE WHEN v.den < 9000000000000000000 THEN v.den::bigint END AS den8
    FROM v JOIN stakeholders_area b ON b.id = v.borough_id
    OFFSET 0  -- a fence: num4 and den8 are computed once a row, not once a mention
)"""  # noqa: S608 - the scope is one of two constants


# GROUPING(borough_id, parent_id) is 1 on the borough rows, 2 on the sub-regions', 3 on London's.
_AREA_OF_GROUP = """CASE GROUPING(borough_id, parent_id) WHEN 1 THEN borough_id WHEN 2 THEN parent_id
                ELSE %(london_id)s END AS area_id"""


def _area_sets(word: str = "") -> str:
    key = f"indicator_id, period_start, breakdown, population_group{word}"
    return f"""GROUPING SETS (({key}, borough_id),
                          ({key}, parent_id), ({key}))"""


_SUMS = """sum(num4) FILTER (WHERE approved) AS num4_a, sum(num) FILTER (WHERE approved AND num4 IS NULL) AS big_a,
           sum(den8) FILTER (WHERE approved) AS den8_a,
           sum(den) FILTER (WHERE approved AND den8 IS NULL AND den IS NOT NULL) AS bigden_a,
           sum(num4) AS num4_p, sum(num) FILTER (WHERE num4 IS NULL) AS big_p, sum(den8) AS den8_p,
           sum(den) FILTER (WHERE den8 IS NULL AND den IS NOT NULL) AS bigden_p"""
_CELLS_SELECT = """SELECT indicator_id, period_start, breakdown, population_group, area_id,
       CASE WHEN big_a IS NULL THEN num4_a * 0.0001 ELSE coalesce(num4_a * 0.0001, 0) + big_a END AS num_a,
       CASE WHEN bigden_a IS NULL THEN den8_a ELSE coalesce(den8_a, 0) + bigden_a END AS den_a, providers_a,
       CASE WHEN big_p IS NULL THEN num4_p * 0.0001 ELSE coalesce(num4_p * 0.0001, 0) + big_p END AS num_p,
       CASE WHEN bigden_p IS NULL THEN den8_p ELSE coalesce(den8_p, 0) + bigden_p END AS den_p, providers_p"""
# Organisation words up to which the bitmaps are kept as columns of the one grouping pass; past
# that, providers are counted in a second, separate grouping by word.
WORDS_INLINE = 8


def cells_sql(words: list[int], scope: Scope) -> str:
    """The CREATE TABLE of metrics_cells for organisations in these words (ids >> 6)."""
    if len(words) <= WORDS_INLINE:

        def count(condition: str) -> str:
            bitmaps = (f"bit_or(bits) FILTER (WHERE {condition}word = {int(w)})::bit(64)" for w in words)
            return " + ".join(f"coalesce(bit_count({b}), 0)" for b in bitmaps) or "0"

        # words are integers read from the database, the rest constants
        body = f""",
sums AS (
    SELECT indicator_id, period_start, breakdown, population_group, {_AREA_OF_GROUP},
           {_SUMS},
           ({count("approved AND ")})::int AS providers_a, ({count("")})::int AS providers_p
    FROM x
    GROUP BY {_area_sets()}
),
cells AS (
    {_CELLS_SELECT}
    FROM sums
)"""  # noqa: S608
    else:
        body = f""",
sums AS (
    SELECT indicator_id, period_start, breakdown, population_group, {_AREA_OF_GROUP}, {_SUMS}
    FROM x
    GROUP BY {_area_sets()}
),
providers AS (
    SELECT indicator_id, period_start, breakdown, population_group, area_id,
           sum(bit_count(bits_a::bit(64))::int) AS providers_a, sum(bit_count(bits_p::bit(64))::int) AS providers_p
    FROM (SELECT indicator_id, period_start, breakdown, population_group, word, {_AREA_OF_GROUP},
                 bit_or(bits) FILTER (WHERE approved) AS bits_a, bit_or(bits) AS bits_p
          FROM x
          GROUP BY {_area_sets(", word")}) w
    GROUP BY indicator_id, period_start, breakdown, population_group, area_id
),
cells AS (
    {_CELLS_SELECT}
    FROM sums JOIN providers USING (indicator_id, period_start, breakdown, population_group, area_id)
)"""  # noqa: S608
    return (
        "CREATE TEMPORARY TABLE metrics_cells ON COMMIT DROP AS"
        + _values_ctes(scope)
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


# The populations come from a small table of their own, analysed: the planner then hashes its few
# hundred rows, not the metric rows to probe them with. Its years come from the staging table.
POPULATION_SQL = (
    "CREATE TEMPORARY TABLE metrics_pop ON COMMIT DROP AS WITH "
    + population_ctes("metrics_cells").rstrip().removesuffix(",")
    + "\nSELECT * FROM pop"
)


# 2. Secondary suppression, only for the cells and bases where some borough's published count is
# below the threshold (no other cell can have a borough pinned).
CELL_COUNTS_SQL = f"""
WITH small AS (
    SELECT DISTINCT c.indicator_id, c.period_start
    FROM metrics_cells c JOIN stakeholders_area a ON a.id = c.area_id
    WHERE a.level = 'borough'
      AND (least(c.num_a, c.num_p) < {SUPPRESS_BELOW} OR least(c.den_a, c.den_p) < {SUPPRESS_BELOW})
),
rows AS (
    SELECT NULL::bigint AS id, c.indicator_id, c.period_start, b.basis, i.measure, a.level, a.parent_id, c.area_id,
           b.num AS numerator, b.den AS denominator, false AS secondary_suppressed, c.breakdown, c.population_group
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
ORDER BY indicator_id, period_start, basis, breakdown, population_group
"""  # noqa: S608 - a constant

# The flags go on the staging rows, so the write below carries them without a join.
HIDE_SQL = """
UPDATE metrics_cells c SET hidden_a = h.a, hidden_p = h.p
FROM (SELECT indicator_id, area_id, period_start, breakdown, population_group, bool_or(basis = 'approved') AS a,
             bool_or(basis = 'provisional') AS p
      FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::text[], %s::text[], %s::text[])
           AS h(indicator_id, area_id, period_start, basis, breakdown, population_group)
      GROUP BY 1, 2, 3, 4, 5) h  -- one row a cell, area and group: an UPDATE applies only one joined row
WHERE c.indicator_id = h.indicator_id AND c.area_id = h.area_id AND c.period_start = h.period_start
  AND c.breakdown = h.breakdown AND c.population_group = h.population_group
"""


# 3. The rows ------------------------------------------------------------------------------
# Every approved row, and the provisional rows only from each indicator's first period where the
# bases differ (`since`, less the four periods a trend reads); before it the approved row is also
# the provisional one (`also_provisional`), and from it too where the two come out the same in
# every figure (docs/outcomes.md, "Bases"). The rebuild computes the limits after its windows, so
# that their sorts and the trend's join back move rows without them.
def _rows_ctes() -> str:
    limits = ",\n".join(
        f"           {limit(side, z, exact, row='r.', population='r.', measure='r.')} AS {name}_f"
        for side, z, exact, name in LIMITS
    )
    rounded = ", ".join(f"{round6(name + '_f')} AS {name}" for *_, name in LIMITS)
    return f"""
WITH ind AS (
    -- each indicator's first period (the trend's origin) and first where the bases differ
    SELECT indicator_id, min(period_start) AS origin, min(period_start) FILTER (WHERE NOT same) AS since
    FROM metrics_cells GROUP BY indicator_id
),
since AS (
    SELECT indicator_id, since FROM ind WHERE since IS NOT NULL
),
s AS (
    SELECT indicator_id, period_start, area_id, 'approved' AS basis, breakdown, population_group, num_a AS num,
           den_a AS den,
           providers_a AS providers, hidden_a AS hidden, {published("num_a")}::float8 AS numf,
           {published("den_a")}::float8 AS denf, 2 * rid AS rid
    FROM metrics_cells WHERE providers_a > 0
    UNION ALL
    SELECT c.indicator_id, c.period_start, c.area_id, 'provisional', c.breakdown, c.population_group, c.num_p,
           c.den_p, c.providers_p, c.hidden_p,
           {published("c.num_p")}::float8, {published("c.den_p")}::float8, 2 * c.rid + 1
    FROM metrics_cells c JOIN since USING (indicator_id) JOIN outcomes_indicator i ON i.id = c.indicator_id
    WHERE c.providers_p > 0 AND c.period_start >= since.since - {LOOKBACK}
),
{computed_cte(extra=" s.hidden, s.rid, s.numf, s.denf,", population_table="metrics_pop", limits=False)},
m AS (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, num::numeric(20, 4) AS numerator,
           den::bigint AS denominator,
           population, providers, round(value::numeric, 6) AS value, suppressed, hidden, rid, numf, denf, measure,
           polarity, period_type, level
    FROM computed
    OFFSET 0  -- a fence: each row is rounded once, not once for every mention of its value below
),
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
    -- x, y, w and t: the trend's inputs (trend_in below)
    SELECT m.numf AS x, m.value::float8 AS y,
           CASE m.measure WHEN 'proportion' THEN m.denf
                          WHEN 'rate' THEN m.population::float8 ELSE 1 END AS w,
           ({months("m.period_start")} - {months("ind.origin")})
            / CASE m.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END AS t,
           m.*,
{QUINTILE},
           ind.since
    FROM windowed m JOIN ind USING (indicator_id)
),
trend_in AS (
    -- the trend's inputs alone: its sort and window pass move narrow rows, joined back after
    SELECT rid, x, y, w, t, indicator_id, area_id, basis, breakdown, population_group, measure, suppressed, hidden
    FROM ranked
),
lagged AS (
    SELECT trend_in.*,
{trend_lags()}    FROM trend_in
    {TREND_WINDOW}
),
sums AS (
    SELECT lagged.*,
{trend_sums()}    FROM lagged
),
trends AS (
    SELECT rid,
{trend_case("trend")}    FROM sums
),
-- The limits (the incremental path's formulas), rounded, then the comparison with London.
limits AS (
    SELECT r.*, tr.trend,
{limits}
    FROM ranked r JOIN trends tr USING (rid)
    LEFT JOIN {EXACT} ON e.x = r.numf
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
),
rounded AS (
    SELECT l.*, {rounded}
    FROM limits l
    OFFSET 0  -- a fence: each rounded once, not once for every mention in the comparison
),
done AS MATERIALIZED (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, numerator, denominator,
           population, providers, value,
           lower95, upper95, lower998, upper998, suppressed, hidden AS secondary_suppressed,
{COMPARISON.rstrip()},
           quintile::smallint AS quintile, trend, since, rid
    FROM rounded m
),
-- From `since` on, the rows computed on both bases that came out the same in every figure.
same AS MATERIALIZED (
    SELECT a.rid FROM done a JOIN done p ON p.rid = a.rid + 1
    WHERE a.basis = 'approved' AND a.period_start >= a.since AND p.basis = 'provisional'
      AND ({columns(FIGURES, "a")}) IS NOT DISTINCT FROM ({columns(FIGURES, "p")})
),
-- Before `since` and where the two are the same, the approved row is also the provisional one.
f AS (
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, {columns(FIGURES)},
           since IS NULL OR period_start < since OR rid IN (SELECT rid FROM same) AS also_provisional
    FROM done WHERE basis = 'approved'
    UNION ALL
    SELECT indicator_id, area_id, period_start, basis, breakdown, population_group, {columns(FIGURES)}, false
    FROM done WHERE basis = 'provisional' AND period_start >= since AND rid - 1 NOT IN (SELECT rid FROM same)
)"""  # noqa: S608 - assembled only from constants and float literals, never user input


def first_build_sql() -> str:
    """The rows into an empty table (a first build): every row is new, so no diff."""
    return f"""{_rows_ctes()}
INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {columns(GROUP)}, {columns(COLUMNS)},
    computed_at)
SELECT indicator_id, area_id, period_start, basis, {columns(GROUP)}, {columns(COLUMNS)}, now() FROM f
"""  # noqa: S608 - a constant


def write_sql(scope: Scope) -> str:
    """The rows against the stored ones (a hashed full join): insert, update and delete only what differs."""
    assignments = ", ".join(f"{c} = d.{c}" for c in COLUMNS)
    return f"""{_rows_ctes()},
diff AS MATERIALIZED (
    SELECT f.*, m.id AS metric_id,
           ({columns(CORE, "m")}) IS DISTINCT FROM ({columns(CORE, "f")}) AS core_changed
    FROM f FULL JOIN {scope.stored} m
        ON m.indicator_id = f.indicator_id AND m.area_id = f.area_id AND m.period_start = f.period_start
       AND m.basis = f.basis AND m.breakdown = f.breakdown AND m.population_group = f.population_group
    WHERE m.id IS NULL OR f.indicator_id IS NULL
       OR ({columns(COLUMNS, "m")}) IS DISTINCT FROM ({columns(COLUMNS, "f")})
),
inserted AS (
    INSERT INTO outcomes_metric (indicator_id, area_id, period_start, basis, {columns(GROUP)}, {columns(COLUMNS)},
        computed_at)
    SELECT indicator_id, area_id, period_start, basis, {columns(GROUP)}, {columns(COLUMNS)}, now()
    FROM diff WHERE metric_id IS NULL
    RETURNING 1
),
updated AS (
    UPDATE outcomes_metric m SET
        {assignments},
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


FIRST_BUILD_SQL = first_build_sql()
WRITE_SQL = {scope: write_sql(scope) for scope in (EVERY_INDICATOR, GROUP_OF_INDICATORS)}

# The organisation words (id >> 6) that have values: one probe of the natural-key index per
# organisation with values (a loose index scan), not a pass over the values.
ORGANISATION_WORDS_SQL = """
WITH RECURSIVE o(id) AS (
    SELECT min(organisation_id) FROM outcomes_outcomevalue
    UNION ALL
    SELECT (SELECT min(v.organisation_id) FROM outcomes_outcomevalue v WHERE v.organisation_id > o.id)
    FROM o WHERE o.id IS NOT NULL
)
SELECT DISTINCT id >> 6 FROM o WHERE id IS NOT NULL ORDER BY 1
"""
DROP_STAGING_SQL = "DROP TABLE IF EXISTS metrics_cells, metrics_pop"

# A first build is a bulk load: PostgreSQL builds an index from the finished table far faster than
# it maintains it row by row (its "Populating a Database" advice), so the first build drops the
# metrics table's indexes and builds them again after the insert, in the same transaction (nobody
# sees the table without them). Constraints keep their names and definitions; an index some
# foreign key relies on is left alone.
METRIC_INDEXES_SQL = """
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
    the build goes ahead with the indexes in place (slower, same rows). The index and constraint
    names come from the catalogue and go into the DDL as identifiers (psycopg2.sql).
    """
    cursor.execute(METRIC_INDEXES_SQL)
    indexes = cursor.fetchall()
    cursor.execute("SELECT current_setting('lock_timeout')")
    lock_timeout = cursor.fetchone()[0]
    try:
        with transaction.atomic():  # a savepoint: a lock timeout leaves the indexes as they were
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            cursor.execute("LOCK TABLE outcomes_metric IN ACCESS EXCLUSIVE MODE")
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
    except OperationalError:  # the savepoint's rollback also undid its SET LOCAL
        cursor.execute(FIRST_BUILD_SQL, params)
        return cursor.rowcount
    for name, constraint, _, _ in indexes:
        if constraint:
            cursor.execute(sql.SQL("ALTER TABLE outcomes_metric DROP CONSTRAINT {}").format(sql.Identifier(constraint)))
        else:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    cursor.execute(FIRST_BUILD_SQL, params)
    written = cursor.rowcount
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, constraint, index_sql, constraint_sql in indexes:
        if constraint:
            # The definition is PostgreSQL's own (pg_get_constraintdef), read back as it wrote it.
            cursor.execute(
                sql.SQL("ALTER TABLE outcomes_metric ADD CONSTRAINT {} {}").format(
                    sql.Identifier(constraint), sql.SQL(constraint_sql)
                )
            )
        else:
            cursor.execute(index_sql)  # pg_get_indexdef's own CREATE INDEX statement
    # The planner's statistics still describe the empty table (autovacuum comes later): the next
    # recomputes would plan for no rows (the bench's refresh right after a first build took 1.8 to
    # 2.0 s against 0.7 s once analysed). The same advice, "Populating a Database": ANALYZE after.
    cursor.execute("ANALYZE outcomes_metric")
    return written


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
    with connection.cursor() as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM outcomes_metric)")
        first_build = cursor.fetchone()[0]
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="metrics-rebuild") as pool:
        written = sum(pool.map(_rebuild_on_own_connection, groups))
        if first_build and written:
            # as `_first_build` does: the statistics still describe the empty tables. Both tables
            # at once, each on a worker's connection (0.34 and 0.17 s at 5,000,000 values, one
            # after the other 0.55 s of the build).
            list(pool.map(_analyse_on_own_connection, ANALYSED_AFTER_A_FIRST_BUILD))
    return written


ANALYSED_AFTER_A_FIRST_BUILD = ("outcomes_metric", "outcomes_inequalitymetric")


def _analyse_on_own_connection(table: str) -> None:
    """ANALYZE one of ANALYSED_AFTER_A_FIRST_BUILD in this thread's own connection, closed after."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    finally:
        connection.close()


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
    scope = EVERY_INDICATOR if indicator_ids is None else GROUP_OF_INDICATORS
    with connection.cursor() as cursor:
        # Big hash aggregates and sorts in memory; JIT compiling costs more than it saves here.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        # Hash joins: the planner cannot estimate the CTEs' sizes and would sort for merge joins.
        cursor.execute("SET LOCAL enable_mergejoin = off")
        params: dict[str, Any] = {"london_id": london_id(), "indicator_ids": indicator_ids}
        ids = scope.indicators  # one of two constant scopes
        lock = f"SELECT pg_advisory_xact_lock(hashtext('outcomes.metrics'), i::int) FROM ({ids}) AS ids(i)"  # noqa: S608
        cursor.execute(lock + " ORDER BY i", params)
        # ON COMMIT DROP only fires at the outermost commit: inside a caller's transaction a
        # second rebuild would find it (a failed rebuild's is rolled back with its savepoint).
        cursor.execute(DROP_STAGING_SQL)
        cursor.execute(ORGANISATION_WORDS_SQL)
        cursor.execute(cells_sql([row[0] for row in cursor.fetchall()], scope), params)
        # The planner needs the staging table's size and rough spreads, not fine histograms: a
        # 3,000-row sample (statistics target 10) does; the default's 30,000 took 0.15 s a worker
        # at 5,000,000 values, now under 0.05 s.
        cursor.execute("SELECT current_setting('default_statistics_target')")
        statistics_target = cursor.fetchone()[0]
        cursor.execute("SET LOCAL default_statistics_target = 10")
        cursor.execute("ANALYZE metrics_cells")
        # back for the rest of the transaction: a first build analyses the metrics table itself
        cursor.execute("SELECT set_config('default_statistics_target', %s, true)", [statistics_target])
        cursor.execute(POPULATION_SQL)
        cursor.execute("ANALYZE metrics_pop")
        cursor.execute(CELL_COUNTS_SQL)
        hidden: list[list[Any]] = [[], [], [], [], [], []]
        for _, rows in groupby(cursor.fetchall(), key=lambda r: (r[1], r[2], r[3])):
            rows = list(rows)
            for area_id, breakdown, group in hidden_rows(rows):
                row = (rows[0][1], area_id, rows[0][2], rows[0][3], breakdown, group)
                for column, value in zip(hidden, row, strict=True):
                    column.append(value)
        if hidden[0]:
            cursor.execute(HIDE_SQL, hidden)
        first_build = False
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {scope.stored} m)", params)  # noqa: S608 - a constant scope
        if cursor.fetchone()[0]:
            cursor.execute(WRITE_SQL[scope], params)
            written = cursor.fetchone()[0]
        elif indicator_ids is not None:  # the group's first build: the other groups write the table too
            cursor.execute(FIRST_BUILD_SQL, params)
            written = cursor.rowcount
        else:  # stable: every writer of metrics waits for the locks held here
            written = _first_build(cursor, params)
            first_build = True
        cursor.execute(DROP_STAGING_SQL)
    # The gaps between groups, from the group rows just written (both bases).
    written += metrics_inequalities("every" if indicator_ids is None else "indicators", params)
    if first_build:  # as the metrics table's: the gap measures' statistics still describe it empty
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE outcomes_inequalitymetric")
    if written:
        metrics_changed()
    return written
