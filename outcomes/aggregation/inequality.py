"""The gap measures between groups (InequalityMetric), from the group metrics just written.

One statement, set-based: it reads the group rows of the cells on both bases (the provisional
figures are the provisional rows and the approved rows that are also provisional), computes the
measures of each key (indicator, area, period, basis, breakdown) as `outcomes.statistics.inequality`
does, and writes only the rows that differ (a hashed full join with the stored rows, as the
metrics' own write: insert, update, delete), removing those whose groups are gone. No row goes
through Python: the former read, Python measures and write took 10 s of a 5,000,000-value rebuild
on one connection (docs/performance.md). `tests/outcomes/test_inequality_sql.py` holds the
statement to the Python reference by hypothesis.

The formulas (docs/statistics.md, "Gaps between groups"): groups shown are those published, with a
value, other than "not known"; with fewer than two, the row is suppressed. Best and worst by the
indicator's polarity ("none": best is the highest), ties to the group shown first; gap = worst -
best; ratio = worst / best (none when best is 0). For deprivation, when all five quintiles are
shown with limits and a population, the slope and relative index of inequality (Fingertips'
method, `outcomes.statistics.slope_index`). Figures are rounded to six places.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from outcomes.breakdowns import FIXED_GROUPS
from outcomes.statistics import NOT_KNOWN_GROUP, QUINTILES, Z95

# Which cells: every one (the nightly rebuild), a group of indicators, or (indicator, period) pairs.
SCOPES = {
    "every": "TRUE",
    "indicators": "m.indicator_id = ANY(%(indicator_ids)s::bigint[])",
    "cells": "(m.indicator_id, m.period_start) IN"
    " (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))",
}

FIGURES = (
    "best_value",
    "worst_value",
    "gap",
    "ratio",
    "sii",
    "sii_lower95",
    "sii_upper95",
    "rii",
    "rii_lower95",
    "rii_upper95",
)
KEY = ("indicator_id", "area_id", "period_start", "basis", "breakdown")
COLUMNS = ("groups_compared", "suppressed", "best_group", "worst_group", *FIGURES)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# A group's place in the order groups are shown (`outcomes.breakdowns.groups_for`): the fixed
# breakdowns' lists, an age band's place in the indicator's bands; ties between equal values go to
# the group shown first, then by code (as Python compares strings: COLLATE "C").
_FIXED_ORDER = " ".join(
    f"WHEN {_literal(breakdown)} THEN CASE s.grp "
    + " ".join(f"WHEN {_literal(code)} THEN {k}" for k, (code, _) in enumerate(groups))
    + " END"
    for breakdown, groups in FIXED_GROUPS.items()
)
_KEY4 = "indicator_id, area_id, period_start, breakdown"
_COLUMNS = f"{_KEY4}, basis"
_K = f"PARTITION BY {_COLUMNS}"


def _extremes(basis: str, flag: str) -> str:
    """The aggregates of one basis's groups: how many shown, and the highest and lowest with their group."""
    shown = f"shown AND {flag}"
    return f"""count(*) FILTER (WHERE {flag}) AS rows_{basis}, count(*) FILTER (WHERE {shown}) AS n_{basis},
           (array_agg(grp ORDER BY value DESC, ord, grp COLLATE "C") FILTER (WHERE {shown}))[1] AS high_group_{basis},
           max(value) FILTER (WHERE {shown}) AS high_{basis},
           (array_agg(grp ORDER BY value, ord, grp COLLATE "C") FILTER (WHERE {shown}))[1] AS low_group_{basis},
           min(value) FILTER (WHERE {shown}) AS low_{basis}"""


def measures_sql(source: str) -> str:
    """The CTEs ending in `new` (one row a key: KEY and COLUMNS) computed from `source`, a query of
    group rows with the key less its basis, grp, value, lower95, upper95, weight (float8),
    published, polarity, age_bands, and in_a and in_p (the row gives the approved, the provisional
    figures) and shared (it gives both).

    Each row is read once for both bases. A key whose every row gives both bases has the same
    provisional measures as approved ones: only its approved row is written, and readers take it
    for both (`outcomes.inequalities.selectors.area_inequalities`), as Metric's `also_provisional`.
    """
    quintiles = ", ".join(_literal(q) for q in QUINTILES)
    return f"""
src AS (
    SELECT s.*,
           s.published AND s.value IS NOT NULL AND s.grp <> {_literal(NOT_KNOWN_GROUP)} AS shown,
           coalesce(CASE s.breakdown WHEN 'age' THEN array_position(s.age_bands, s.grp::varchar) - 1
                                     {_FIXED_ORDER} END, 1000000) AS ord
    FROM ({source}) s
),
g AS (
    SELECT {_KEY4}, min(polarity) AS polarity, bool_and(shared) AS shared,
           {_extremes("a", "in_a")},
           {_extremes("p", "in_p")}
    FROM src GROUP BY {_KEY4}
),
by_basis AS (
    SELECT g.indicator_id, g.area_id, g.period_start, g.breakdown, g.polarity, b.*
    FROM g CROSS JOIN LATERAL (
        VALUES ('approved', rows_a, n_a, high_group_a, high_a, low_group_a, low_a),
               ('provisional', rows_p, n_p, high_group_p, high_p, low_group_p, low_p)
    ) AS b(basis, rows, n, high_group, high, low_group, low)
    WHERE b.rows > 0 AND (b.basis = 'approved' OR NOT g.shared)
),
-- The slope index: the five quintiles, each with a population and limits, q1 (most deprived) first.
q AS (
    SELECT {_COLUMNS}, grp, value AS y, weight AS w, (upper95 - lower95) / (2 * {Z95!r}) AS se,
           count(*) OVER k AS n, sum(weight) OVER k AS total,
           sum(weight) OVER (k ORDER BY grp COLLATE "C" ROWS UNBOUNDED PRECEDING) - weight AS before
    FROM (SELECT src.*, b.basis FROM src
          CROSS JOIN LATERAL (SELECT 'approved' WHERE in_a UNION ALL SELECT 'provisional' WHERE in_p) AS b(basis)
          WHERE breakdown = 'deprivation' AND shown AND grp IN ({quintiles}) AND weight > 0
            AND lower95 IS NOT NULL AND upper95 IS NOT NULL) AS quintile
    WINDOW k AS ({_K})
),
-- each quintile at the midpoint of its population share, cumulated from the most deprived
qx AS (
    SELECT q.*, w / total AS p, before / total + w / total / 2 AS x FROM q WHERE n = 5
),
qm AS (
    SELECT qx.*, sum(p * x) OVER k AS x_mean, sum(p * y) OVER k AS y_mean FROM qx WINDOW k AS ({_K})
),
qs AS (
    SELECT qm.*, p * (x - x_mean) / nullif(sum(p * (x - x_mean) ^ 2) OVER k, 0) AS c FROM qm WINDOW k AS ({_K})
),
slope AS (
    SELECT {_COLUMNS}, -sum(c * y) AS sii, {Z95!r} * sqrt(sum(c * c * se * se)) AS half, min(y_mean) AS y_mean
    FROM qs GROUP BY {_COLUMNS}
),
measured AS (
    SELECT g.*, CASE WHEN g.polarity = 'lower' THEN low ELSE high END AS best_f,
           CASE WHEN g.polarity = 'lower' THEN high ELSE low END AS worst_f,
           s.sii AS sii_f, s.sii - s.half AS sii_lower_f, s.sii + s.half AS sii_upper_f, nullif(s.y_mean, 0) AS y_mean
    FROM by_basis g LEFT JOIN slope s USING ({_COLUMNS})
),
new AS (
    SELECT {_COLUMNS}, n::int AS groups_compared, n < 2 AS suppressed,
           CASE WHEN n < 2 THEN '' WHEN polarity = 'lower' THEN low_group ELSE high_group END AS best_group,
           CASE WHEN n < 2 THEN '' WHEN polarity = 'lower' THEN high_group ELSE low_group END AS worst_group,
           round((CASE WHEN n >= 2 THEN best_f END)::numeric, 6) AS best_value,
           round((CASE WHEN n >= 2 THEN worst_f END)::numeric, 6) AS worst_value,
           round((CASE WHEN n >= 2 THEN worst_f - best_f END)::numeric, 6) AS gap,
           round((CASE WHEN n >= 2 AND best_f <> 0 THEN worst_f / best_f END)::numeric, 6) AS ratio,
           round(sii_f::numeric, 6) AS sii, round(sii_lower_f::numeric, 6) AS sii_lower95,
           round(sii_upper_f::numeric, 6) AS sii_upper95, round((sii_f / y_mean)::numeric, 6) AS rii,
           round((sii_lower_f / y_mean)::numeric, 6) AS rii_lower95,
           round((sii_upper_f / y_mean)::numeric, 6) AS rii_upper95
    FROM measured
)"""  # noqa: S608 - assembled from constants and the caller's constant source


# The group metric rows of the scope, each read once with the bases it gives.
READ_SQL = """
SELECT m.indicator_id, m.area_id, m.period_start, m.breakdown, m.population_group AS grp,
       m.value::float8 AS value, m.lower95::float8 AS lower95, m.upper95::float8 AS upper95,
       coalesce(m.population, m.denominator)::float8 AS weight,
       NOT (m.suppressed OR m.secondary_suppressed) AS published,
       i.polarity, i.age_bands, m.basis = 'approved' AS in_a, m.basis = 'provisional' OR m.also_provisional AS in_p,
       m.basis = 'approved' AND m.also_provisional AS shared
FROM outcomes_metric m
JOIN outcomes_indicator i ON i.id = m.indicator_id
WHERE m.population_group <> '' AND {scope}
"""


def write_sql(scope: str) -> str:
    assignments = ", ".join(f"{c} = d.{c}" for c in COLUMNS)
    return f"""
WITH {measures_sql(READ_SQL.format(scope=SCOPES[scope]))},
diff AS MATERIALIZED (
    SELECT n.*, s.id AS stored_id
    FROM new n FULL JOIN (SELECT * FROM outcomes_inequalitymetric m WHERE {SCOPES[scope]}) s
        ON {" AND ".join(f"s.{k} = n.{k}" for k in KEY)}
    WHERE s.id IS NULL OR n.indicator_id IS NULL
       OR ({", ".join(f"s.{c}" for c in COLUMNS)}) IS DISTINCT FROM ({", ".join(f"n.{c}" for c in COLUMNS)})
),
inserted AS (
    INSERT INTO outcomes_inequalitymetric ({", ".join(KEY)}, {", ".join(COLUMNS)}, computed_at)
    SELECT {", ".join(KEY)}, {", ".join(COLUMNS)}, now() FROM diff WHERE stored_id IS NULL
    RETURNING 1
),
updated AS (
    UPDATE outcomes_inequalitymetric m SET {assignments}, computed_at = now()
    FROM diff d WHERE m.id = d.stored_id AND d.indicator_id IS NOT NULL
    RETURNING 1
),
deleted AS (
    DELETE FROM outcomes_inequalitymetric m USING diff d WHERE m.id = d.stored_id AND d.indicator_id IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) + (SELECT count(*) FROM deleted)
"""  # noqa: S608 - assembled only from constants


WRITE_SQL = {scope: write_sql(scope) for scope in SCOPES}


def metrics_inequalities(scope: str, params: dict[str, Any]) -> int:
    """Recompute the gap measures of a scope's cells (SCOPES), in one statement.

    Returns how many rows were written or removed (0 when nothing changed).
    """
    with connection.cursor() as cursor:
        cursor.execute(WRITE_SQL[scope], params)
        return cursor.fetchone()[0]
