"""The metrics SQL's shared pieces: one implementation of each formula, composed by functions.

Both paths (the incremental recompute, `outcomes.aggregation.incremental`, and the nightly
rebuild, `outcomes.aggregation.rebuild`) build their statements from these. Each piece is a
constant or a function whose arguments are its slots; nothing is assembled by replacing
markers in text or slicing one statement to make another. Every piece is assembled only from
constants, float literals and the names below, never from user input.

The formulas' reference is Python: `outcomes.statistics` (Wilson, exact Poisson and Byar
limits, disclosure control, the trend tests), tested against published values. The SQL here
mirrors it, and tests/outcomes/test_aggregation.py holds the SQL to the Python figures.
"""

from __future__ import annotations

from typing import Literal

from outcomes.statistics import PERCENT_MIN_DENOMINATOR, SUPPRESS_BELOW, Z95, Z998, exact_poisson


def _exact_table() -> str:
    """A VALUES list of exact Poisson limits for 0..9 events at both levels (statistics.exact_poisson)."""
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


# Limits ----------------------------------------------------------------------------------
# Mirrors outcomes.statistics.byar_limits and wilson (the tested reference).


def byar(side: Literal["low", "high"], n: str, z: float) -> str:
    """One Byar limit of a Poisson count `n` (a numeric expression), as events."""
    if side == "low":
        return f"({n} * power(1 - 1 / (9 * {n}) - {z!r} / (3 * sqrt({n})), 3))"
    return f"(({n} + 1) * power(1 - 1 / (9 * ({n} + 1)) + {z!r} / (3 * sqrt({n} + 1)), 3))"


def wilson(side: Literal["low", "high"], x: str, n: str, z: float) -> str:
    """One Wilson limit of x out of n, as a percentage."""
    sign = "-" if side == "low" else "+"
    z_ = repr(z)
    return f"(100 * (2 * {x} + {z_}^2 {sign} {z_} * sqrt({z_}^2 + 4 * {x} * (1 - {x} / {n}))) / (2 * ({n} + {z_}^2)))"


def limit(
    side: Literal["low", "high"],
    z: float,
    exact_column: str,
    row: str = "s.",
    population: str = "p.",
    measure: str = "i.",
) -> str:
    """SQL for one limit of the metric in row `row` (the grouped sums), by measure.

    `row` names the published counts as float8 (numf, denf: see `published`), `population` and
    `measure` where the row has them under another table (the rebuild computes the limits after
    its windows, from its own rows). Counts below 10 take the exact limits from EXACT (joined as
    `e`), from 10 Byar's.
    """
    events = f"(CASE WHEN {row}numf < 10 THEN e.{exact_column} ELSE {byar(side, f'{row}numf', z)} END)"
    return (
        f"CASE {measure}measure"
        f" WHEN 'proportion' THEN CASE WHEN {row}denf > 0 AND {row}numf <= {row}denf"
        f" THEN {wilson(side, f'{row}numf', f'{row}denf', z)} END"
        f" WHEN 'count' THEN {events}"
        f" WHEN 'rate' THEN CASE WHEN {population}population > 0 THEN {events} / {population}population * 100000 END"
        " END"
    )


# (side, z, exact table column, metric column) of the four limits every metric row carries.
LIMITS = (
    ("low", Z95, "l95", "lower95"),
    ("high", Z95, "u95", "upper95"),
    ("low", Z998, "l998", "lower998"),
    ("high", Z998, "u998", "upper998"),
)


def round6(column: str) -> str:
    """A float8 limit as numeric to six decimals.

    By bigint arithmetic where the value allows: a float8 -> numeric cast formats the number as
    text, and did so for four limits of every metric row. Both paths round with this.
    """
    return (
        f"CASE WHEN abs({column}) < 1e12 THEN round({column} * 1e6)::bigint * 0.000001"
        f" ELSE round({column}::numeric, 6) END"
    )


def rounded_figures() -> str:
    """The value and the four limits of `computed`, rounded as they are stored."""
    return "round(value::numeric, 6) AS value, " + ", ".join(f"{round6(c)} AS {c}" for *_, c in LIMITS)


# Values, limits and primary suppression from the sums ------------------------------------


def population_ctes(source: Literal["s", "metrics_cells"]) -> str:
    """The CTEs `years` and `pop`: each area's population in the year nearest each period's, once
    per area, year and population group (a group's rate reads the group's population, the
    headline the all-people one), for the areas and periods of `source` (the sums, or the rebuild's staging
    table). Ends with a comma, ready for the next CTE."""
    table = "s" if source == "s" else f"{source} s"
    return f"""-- Each area's population in the year nearest each period's (once per area and year).
years AS (
    SELECT DISTINCT s.area_id, date_part('year', s.period_start)::int AS year, s.breakdown, s.population_group
    FROM {table}
),
pop AS (
    SELECT y.area_id, y.year, y.breakdown, y.population_group, p.population FROM years y
    CROSS JOIN LATERAL (
        SELECT pp.population FROM outcomes_population pp
        WHERE pp.area_id = y.area_id AND pp.breakdown = y.breakdown AND pp.population_group = y.population_group
        ORDER BY abs(pp.year - y.year), pp.year DESC LIMIT 1
    ) p
),
"""  # noqa: S608 - `source` is one of two table names (the Literal type)


def computed_cte(
    *, extra: str = "", population_table: Literal["pop", "metrics_pop"] = "pop", limits: bool = True
) -> str:
    """The CTE `computed`: from the sums `s` (indicator_id, period_start, area_id, basis, breakdown,
    population_group, num, den, providers, numf, denf), each row's value by measure, its 95% and
    99.8% limits (`limits`) and primary suppression. Shared by both paths.

    `extra` adds columns of `s` (written "s.a, s.b,"); the rebuild computes the limits later,
    after its windows (`limits` False), and reads the populations from its own table.
    """
    limit_lines = "".join(f"        {limit(side, z, exact)} AS {name},\n" for side, z, exact, name in LIMITS)
    exact_join = (
        f"    LEFT JOIN {EXACT} ON e.x = s.numf  -- hashing a float8, not a numeric; equal only for whole 0..9\n"
        if limits
        else ""
    )
    return f"""computed AS (
    SELECT s.indicator_id, s.area_id, s.period_start, s.basis, s.breakdown, s.population_group, s.num, s.den,
           s.providers, p.population,{extra}
        CASE i.measure
            WHEN 'proportion' THEN CASE WHEN s.den > 0 THEN 100 * {published("s.num")} / {published("s.den")} END
            WHEN 'mean' THEN CASE WHEN s.den > 0 THEN s.num / s.den END
            WHEN 'count' THEN s.num
            WHEN 'rate' THEN CASE WHEN p.population > 0 THEN {published("s.num")} / p.population * 100000 END
        END AS value,
{limit_lines if limits else ""}\
        -- Disclosure: counts below 5, or a ratio with a part below 5, are suppressed (London's too);
        -- so is a percentage of a published denominator below PERCENT_MIN_DENOMINATOR (its counts are
        -- still shown): computed from rounded counts, it could be far from the exact one.
        (s.num < {SUPPRESS_BELOW} OR (i.measure IN ('proportion', 'mean') AND s.den < {SUPPRESS_BELOW})
         OR (i.measure = 'proportion' AND {published("s.den")} < {PERCENT_MIN_DENOMINATOR})) AS suppressed,
        i.measure, i.polarity, i.period_type, a.level, a.parent_id
    FROM s
    JOIN outcomes_indicator i ON i.id = s.indicator_id
    JOIN stakeholders_area a ON a.id = s.area_id
    LEFT JOIN {population_table} p ON p.area_id = s.area_id AND p.year = date_part('year', s.period_start)::int
         AND p.breakdown = s.breakdown AND p.population_group = s.population_group
{exact_join}\
    OFFSET 0  -- a fence: each limit is computed once, then rounded (_round6 names it three times)
)
"""  # noqa: S608 - assembled only from constants and float literals, never user input


# Comparison with a benchmark and quintiles among boroughs ---------------------------------
# `CELL_WINDOWS` reads rows `m` (value, suppression, the area's level, the population group, the
# polarity and `eligible`/`rank_key` from `RANKING`) in one window per cell and group: London's
# value beside every row, how many boroughs are eligible, and each row's rank with eligible
# boroughs first (so an eligible borough's rank is its rank among them). One sort and one window
# pass serve all three. `AREA_WINDOWS` adds the same area's all-people value beside each row, the
# benchmark of a group's figure (docs/statistics.md, "Figures by population group").
# A count is never ranked nor compared (docs/statistics.md, "What is compared with what"): a
# borough's count is a share of London's total, not a figure on its scale, and boroughs differ
# in size. Only proportions, rates and means are ranked into quintiles and compared with London.
# Only all-people figures are ranked: a group's figure has no quintile.
# Mirrors outcomes.statistics.compare and quintiles.
RANKING = """(m.population_group = '' AND m.level = 'borough' AND m.measure <> 'count' AND m.value IS NOT NULL
            AND NOT m.suppressed) AS eligible,
           CASE WHEN m.polarity = 'lower' THEN m.value ELSE -m.value END AS rank_key"""
AREA_WINDOWS = """max(m.value) FILTER (WHERE m.population_group = '' AND NOT m.suppressed AND NOT m.hidden)
               OVER area_cell AS all_value"""
AREA_WINDOW = "WINDOW area_cell AS (PARTITION BY m.indicator_id, m.period_start, m.basis, m.area_id)"
CELL_WINDOWS = """max(m.value) FILTER (WHERE m.area_id = %(london_id)s AND NOT m.suppressed AND NOT m.hidden)
               OVER cell AS london_value,
           count(*) FILTER (WHERE m.eligible) OVER cell AS n_eligible,
           rank() OVER cell AS rnk"""
# One window for all three, so one pass: rank() reads only the order, and the frame (the whole
# cell) makes the two aggregates the cell's, computed once a cell.
CELL_WINDOW = (
    "WINDOW cell AS (PARTITION BY m.indicator_id, m.period_start, m.basis, m.breakdown, m.population_group"
    " ORDER BY NOT m.eligible, m.rank_key ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
)
QUINTILE = """        CASE WHEN m.eligible AND m.n_eligible >= 5
             THEN ((m.rnk - 1) * 5 / m.n_eligible) + 1 END AS quintile"""
# The benchmark: London's all-people figure for an all-people row, the same area's all-people
# figure for a group's row (London's groups too).
_BENCHMARK = "(CASE WHEN m.population_group = '' THEN m.london_value ELSE m.all_value END)"
COMPARISON = f"""        CASE
            WHEN (m.level = 'london' AND m.population_group = '') OR m.measure = 'count' OR {_BENCHMARK} IS NULL
                 OR m.lower95 IS NULL OR m.suppressed THEN 'not_compared'
            WHEN {_BENCHMARK} BETWEEN m.lower95 AND m.upper95 THEN 'similar'
            WHEN m.polarity = 'none' THEN
                (CASE WHEN {_BENCHMARK} NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN m.lower95 > {_BENCHMARK} THEN 'higher' ELSE 'lower' END)
            ELSE
                (CASE WHEN {_BENCHMARK} NOT BETWEEN m.lower998 AND m.upper998 THEN 'much_' ELSE '' END)
                || (CASE WHEN (m.lower95 > {_BENCHMARK}) = (m.polarity = 'higher') THEN 'better' ELSE 'worse' END)
        END AS comparison
"""


# Trend over each area's last five periods -------------------------------------------------
# Significant at 95%: chi-squared for linear trend with one degree of freedom above 3.841459
# (proportions: Cochran-Armitage; counts and rates: the Poisson score test, weighted by
# population for rates); means: least-squares slope, |t| above 3.182446 (3 degrees of freedom).
# Mirrors outcomes.statistics.trend. The last five periods of each area (window `win`, periods
# numbered `t`): the four before each row by lag() (cheap, where re-aggregating a five-row frame
# for every row was not), then their sums, added oldest first as a window sum would, then the test.
CHI2_1DF_95 = 3.841458820694124
T_3DF_975 = 3.182446305284263
LAGGED = ("x", "w", "y")


def months(date: str) -> str:
    """A date's month count (year * 12 + month) as float8: date_part is float8, extract() numeric and slower."""
    return f"(date_part('year', {date}) * 12 + date_part('month', {date}))"


# How far before and after a period a trend reads: four periods of the indicator's type.
LOOKBACK = (
    "CASE i.period_type WHEN 'month' THEN interval '4 months' WHEN 'quarter' THEN interval '12 months'"
    " ELSE interval '4 years' END"
)

_BAD = "(suppressed OR hidden OR y IS NULL OR w IS NULL OR w <= 0)"


def trend_lags() -> str:
    """The lagged inputs of the last five periods, and the window facts the test needs.

    t is a whole number of periods: four rows back is four periods back only when none is
    missing, and then the rows between are t - 1, t - 2, t - 3. A moving count (no frame
    re-aggregated) finds gaps.
    """
    lags = "".join(f"        lag({n}, {k}) OVER win AS {n}_{k},\n" for n in LAGGED for k in (1, 2, 3, 4))
    lags += "        lag(t, 4) OVER win AS t_4,\n"
    return lags + f"        count(*) FILTER (WHERE {_BAD}) OVER win AS bad_in_five\n"


# lag() reads the partition whatever the frame, so one frame (the moving count's) serves every
# function and they are computed in one pass, not a second window pass for the count.
TREND_WINDOW = (
    "WINDOW win AS (PARTITION BY indicator_id, area_id, basis, breakdown, population_group ORDER BY t"
    " ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)"
)


def _five(term: str) -> str:
    """term (in x, w, y, t) over the last five periods, oldest first: `w * t` -> w_4 * (t - 4) + ... + w * t."""

    def at(k: int) -> str:
        parts = []
        for part in term.split():
            if k and part in LAGGED:
                part = f"{part}_{k}"
            elif k and part == "t":
                part = f"(t - {k})"
            parts.append(part)
        return " ".join(parts)

    return " + ".join(at(k) for k in (4, 3, 2, 1, 0))


_SUMMED = (
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


def trend_sums() -> str:
    """k (5 when the five periods are consecutive), gap, and the sums the tests read."""
    return (
        "        CASE WHEN t_4 >= t - 4 THEN 5 ELSE 0 END AS k,\n"
        "        bad_in_five > 0 AS gap,\n"
        + ",\n".join(f"        {_five(term)} AS {name}" for name, term in _SUMMED)
        + "\n"
    )


# The tests' terms, written out where they are used (no per-row subquery); PostgreSQL evaluates a
# CASE lazily, so each is computed only on the rows that reach it.
_SXX = "(stt - st * st / 5)"
_SXY = "(sty - st * sy / 5)"
_RESID = f"((syy - sy * sy / 5) - ({_SXY}) ^ 2 / nullif({_SXX}, 0))"
_U = "(sxt - sx * swt / sw)"
_VAR = (
    "(CASE WHEN measure = 'proportion' THEN (sx / sw) * (1 - sx / sw) * (swtt - swt * swt / sw)"
    " ELSE sx * (swtt / sw - (swt / sw) ^ 2) END)"
)


def trend_case(alias: str) -> str:
    """The trend of each row from its sums: '' (not tested), no_change, increasing or decreasing."""
    return f"""        CASE
            WHEN k < 5 OR gap THEN ''
            WHEN measure = 'mean' THEN
                CASE WHEN {_SXX} <= 0 THEN ''
                     WHEN {_RESID} <= 0 THEN CASE WHEN {_SXY} > 0 THEN 'increasing' WHEN {_SXY} < 0 THEN 'decreasing'
                                                   ELSE 'no_change' END
                     WHEN abs({_SXY} / {_SXX}) / sqrt({_RESID} / 3 / {_SXX}) > {T_3DF_975!r}
                         THEN CASE WHEN {_SXY} > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
            ELSE
                CASE WHEN {_VAR} <= 0 THEN 'no_change'
                     WHEN {_U} * {_U} / {_VAR} > {CHI2_1DF_95!r}
                         THEN CASE WHEN {_U} > 0 THEN 'increasing' ELSE 'decreasing' END
                     ELSE 'no_change' END
        END AS {alias}
"""


# The stored figures -----------------------------------------------------------------------
# CORE: what the cell's values decide; FIGURES: with the cell-wide figures; COLUMNS: and the fold.
CORE = (
    "numerator",
    "denominator",
    "population",
    "providers",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "suppressed",
)
FIGURES = (*CORE, "secondary_suppressed", "comparison", "quintile", "trend")
COLUMNS = (*FIGURES, "also_provisional")
# A row's key beside (indicator, area, period, basis): both blank for the all-people headline.
GROUP = ("breakdown", "population_group")


def columns(names: tuple[str, ...], table: str = "") -> str:
    """A column list, each qualified by `table` when given."""
    return ", ".join(f"{table}.{name}" if table else name for name in names)
