"""The gap measures between groups (InequalityMetric), from the group metrics just written.

One read of the group rows of the cells (both bases: the provisional figures are the provisional
rows and the approved rows that are also provisional), in key order through a server-side cursor;
the measures in Python (outcomes.statistics.inequality, a handful of groups a key); one statement
that writes only the rows that differ and removes those whose groups are gone. No query per cell.

Each metric row is read once, with its basis and `also_provisional`. Where a key's approved rows
are all also provisional and it has no provisional rows of its own (every key whose values are all
approved: nearly all of them), the provisional basis has exactly the approved basis's figures, so
its measures are the approved ones, computed once.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.db import connection

from outcomes.breakdowns import groups_for
from outcomes.statistics import GroupFigure, inequality

# Which cells: every one (the nightly rebuild), a group of indicators, or (indicator, period) pairs.
SCOPES = {
    "every": "TRUE",
    "indicators": "m.indicator_id = ANY(%(indicator_ids)s::bigint[])",
    "cells": "(m.indicator_id, m.period_start) IN"
    " (SELECT * FROM unnest(%(indicator_ids)s::bigint[], %(periods)s::date[]))",
}

READ_SQL = """
SELECT m.indicator_id, m.area_id, m.period_start, m.breakdown, m.basis = 'approved', m.also_provisional,
       m.population_group, m.value::float8, m.lower95::float8, m.upper95::float8,
       coalesce(m.population, m.denominator)::float8, NOT (m.suppressed OR m.secondary_suppressed), i.polarity,
       i.age_bands
FROM outcomes_metric m
JOIN outcomes_indicator i ON i.id = m.indicator_id
WHERE m.population_group <> '' AND {scope}
ORDER BY m.indicator_id, m.area_id, m.period_start, m.breakdown
"""
# A record: 0-3 the key less its basis (indicator, area, period, breakdown), 4 approved (else
# provisional), 5 also provisional, 6 group, 7-10 value, limits and weight, 11 published, 12
# polarity, 13 age bands.
_KEY = itemgetter(0, 1, 2, 3)

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

WRITE_SQL = f"""
WITH new AS (
    SELECT {", ".join(KEY)}, groups_compared, suppressed, best_group, worst_group,
           {", ".join(f"round({c}, 6) AS {c}" for c in FIGURES)}
    FROM unnest(%(indicator_id)s::bigint[], %(area_id)s::bigint[], %(period_start)s::date[],
                %(basis)s::text[], %(breakdown)s::text[], %(groups_compared)s::int[],
                %(suppressed)s::boolean[], %(best_group)s::text[], %(worst_group)s::text[],
                {", ".join(f"%({c})s::numeric[]" for c in FIGURES)})
           AS n({", ".join(KEY)}, {", ".join(COLUMNS)})
),
deleted AS (
    DELETE FROM outcomes_inequalitymetric m
    WHERE {{scope}}
      AND NOT EXISTS (SELECT 1 FROM new n WHERE {" AND ".join(f"n.{k} = m.{k}" for k in KEY)})
    RETURNING 1
),
written AS (
    INSERT INTO outcomes_inequalitymetric ({", ".join(KEY)}, {", ".join(COLUMNS)}, computed_at)
    SELECT {", ".join(KEY)}, {", ".join(COLUMNS)}, now() FROM new
    ON CONFLICT (indicator_id, period_start, area_id, basis, breakdown) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)}, computed_at = EXCLUDED.computed_at
    WHERE ({", ".join(f"outcomes_inequalitymetric.{c}" for c in COLUMNS)})
          IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in COLUMNS)})
    RETURNING 1
)
SELECT (SELECT count(*) FROM deleted) + (SELECT count(*) FROM written)
"""  # noqa: S608 - assembled only from constants


def _finite(value: float | None) -> float | None:
    """A figure as WRITE_SQL takes it: the float, written as its repr (the shortest text that reads
    back the same float), read as numeric and rounded to six places, halves away from zero; None
    for what is no number."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array(values: list[Any]) -> str:
    """A column as the text of a PostgreSQL array ('{1,NULL,"a"}'), which the server reads in one go.

    psycopg2 would send a list as ARRAY[...] of one literal each, which it is slow to write and the
    server slow to parse: for the nightly rebuild's keys x 14 columns it was most of the write. A
    column holds one type; a float is written as its repr (str and repr are the same for floats).
    """
    first = next((v for v in values if v is not None), None)
    if isinstance(first, bool):
        items = ("NULL" if v is None else "t" if v else "f" for v in values)
    elif isinstance(first, str):
        quoted: dict[str, str] = {}  # a few distinct codes, many times
        items = ("NULL" if v is None else quoted.get(v) or quoted.setdefault(v, _quoted(v)) for v in values)
    elif isinstance(first, date):
        items = ("NULL" if v is None else v.isoformat() for v in values)
    else:
        items = ("NULL" if v is None else str(v) for v in values)
    return "{" + ",".join(items) + "}"


def _figures(result: Any) -> tuple[Any, ...]:
    """COLUMNS of one result, in order."""
    return (
        result.groups_compared,
        result.suppressed,
        result.best_group,
        result.worst_group,
        *(_finite(getattr(result, name)) for name in FIGURES),
    )


def _measure(records: list[Any], out: list[tuple[Any, ...]], order_cache: dict[Any, dict[str, int]]) -> None:
    """The measures of every complete key of `records` (in key order), both bases: KEY and COLUMNS rows onto `out`."""
    for key, members in groupby(records, key=_KEY):
        members = list(members)
        indicator_id, area_id, period_start, breakdown = key
        polarity, age_bands = members[0][12], tuple(members[0][13] or ())
        order = order_cache.get((breakdown, age_bands))
        if order is None:
            order = {code: k for k, (code, _) in enumerate(groups_for(breakdown, list(age_bands)))}
            order_cache[(breakdown, age_bands)] = order
        members.sort(key=lambda r: (order.get(r[6], len(order)), r[6]))
        approved = [r for r in members if r[4]]
        provisional = [r for r in members if not r[4] or r[5]]
        # the provisional figures are the approved ones when they are the same rows (in the same order)
        same = len(provisional) == len(approved) and all(r[4] for r in provisional)
        columns: tuple[Any, ...] | None = None
        for basis, figures in (("approved", approved), ("provisional", provisional)):
            if not figures:
                continue
            if columns is None or not same:
                columns = _figures(
                    inequality(
                        [
                            GroupFigure(
                                group=r[6], value=r[7], lower95=r[8], upper95=r[9], weight=r[10], published=r[11]
                            )
                            for r in figures
                        ],
                        polarity,
                        breakdown,
                    )
                )
            out.append((indicator_id, area_id, period_start, basis, breakdown, *columns))


def metrics_inequalities(scope: str, params: dict[str, Any]) -> int:
    """Recompute the gap measures of a scope's cells (SCOPES), in one read and one write.

    Returns how many rows were written or removed (0 when nothing changed).
    """
    out: list[tuple[Any, ...]] = []
    order_cache: dict[Any, dict[str, int]] = {}
    carried: list[Any] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(READ_SQL.format(scope=SCOPES[scope]), params)
        while batch := cursor.fetchmany(20000):
            # a batch may end inside a key: its rows wait for the next batch
            records = carried + batch
            last = _KEY(records[-1])
            split = len(records)
            while split and _KEY(records[split - 1]) == last:
                split -= 1
            _measure(records[:split], out, order_cache)
            carried = records[split:]
    _measure(carried, out, order_cache)
    with connection.cursor() as cursor:
        transposed = list(zip(*out, strict=True)) or [() for _ in (*KEY, *COLUMNS)]
        columns = {name: _array(list(values)) for name, values in zip((*KEY, *COLUMNS), transposed, strict=True)}
        cursor.execute(WRITE_SQL.format(scope=SCOPES[scope]), {**params, **columns})
        return cursor.fetchone()[0]
