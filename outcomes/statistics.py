"""Confidence limits, comparison with a benchmark, quintiles and disclosure control.

Public methods, re-implemented from their formulas (see docs/statistics.md):
- proportions: Wilson score interval;
- counts and rates: exact Poisson limits below 10 events, Byar's approximation from 10;
- comparison with London: similar when London lies inside the 95% interval, otherwise
  higher or lower, turned into better or worse by the indicator's polarity; outside the
  99.8% interval, much better or much worse;
- disclosure control as NHS mental-health statistics publish it.

The exact Poisson limits use the identity between the chi-squared distribution with even
degrees of freedom and the Poisson distribution, solved by bisection, so no statistics
library is needed: chi2inv(p, 2k) / 2 = m where P(Poisson(m) <= k - 1) = 1 - p.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Z95 = 1.959963984540054
Z998 = 3.090232306167813
ALPHA = {95: 0.05, 99.8: 0.002}
Z = {95: Z95, 99.8: Z998}


def wilson(x: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score limits for x successes out of n, as proportions (0 to 1)."""
    if n <= 0:
        raise ValueError("n must be positive")
    z2 = z * z
    root = z * math.sqrt(z2 + 4 * x * (1 - x / n))
    denominator = 2 * (n + z2)
    return (2 * x + z2 - root) / denominator, (2 * x + z2 + root) / denominator


def _poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if k < 0:
        return 0.0
    term = math.exp(-mean)
    total = term
    for j in range(1, k + 1):
        term *= mean / j
        total += term
    return total


def _solve_mean(k: int, target: float) -> float:
    """The Poisson mean m with P(X <= k) = target (decreasing in m), by bisection."""
    low, high = 0.0, max(10.0, 4.0 * (k + 10))
    for _ in range(200):
        mid = (low + high) / 2
        if _poisson_cdf(k, mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def exact_poisson(x: int, level: float) -> tuple[float, float]:
    """Exact limits for the mean of a Poisson count x (events, not a rate)."""
    alpha = ALPHA[level]
    lower = 0.0 if x == 0 else _solve_mean(x - 1, 1 - alpha / 2)
    upper = _solve_mean(x, alpha / 2)
    return lower, upper


def byar(x: float, level: float) -> tuple[float, float]:
    """Byar's approximation to the Poisson limits, for x >= 10 events."""
    z = Z[level]
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower, upper


def poisson_limits(x: float, level: float) -> tuple[float, float]:
    """Limits for a count: exact below 10 events, Byar from 10."""
    if x < 10:
        return exact_poisson(round(x), level)
    return byar(x, level)


def rate_limits(x: float, population: float, level: float, per: float = 100_000) -> tuple[float, float]:
    lower, upper = poisson_limits(x, level)
    return lower / population * per, upper / population * per


def mean_limits(total: float, n: float, sd: float | None, level: float) -> tuple[float, float] | None:
    """Normal limits for a mean when a standard deviation is known; otherwise none."""
    if sd is None or n <= 1:
        return None
    half = Z[level] * sd / math.sqrt(n)
    return total / n - half, total / n + half


def figures(
    measure: str, numerator: float, denominator: float | None, population: float | None
) -> tuple[float | None, tuple[float, float] | None, tuple[float, float] | None]:
    """(value, 95% limits, 99.8% limits) of one area's counts by measure, as the aggregation computes them.

    The aggregation computes the published figures from the published counts
    (`published_count`); this computes them from whatever counts it is given, which is how a
    commissioner's own boroughs are shown exactly (outcomes.dashboards.public_metric).
    """
    if measure == "proportion":
        if not denominator or denominator <= 0 or numerator > denominator:
            return None, None, None
        limits = [tuple(100 * v for v in wilson(numerator, denominator, Z[level])) for level in (95, 99.8)]
        return 100 * numerator / denominator, limits[0], limits[1]  # type: ignore[return-value]
    if measure == "count":
        return numerator, poisson_limits(numerator, 95), poisson_limits(numerator, 99.8)
    if measure == "rate":
        if not population or population <= 0:
            return None, None, None
        per = 100_000
        return (
            numerator / population * per,
            rate_limits(numerator, population, 95),
            rate_limits(numerator, population, 99.8),
        )
    if measure == "mean":
        return (numerator / denominator if denominator else None), None, None
    raise ValueError(f"unknown measure {measure!r}")


class Comparison(StrEnum):
    MUCH_BETTER = "much_better"
    BETTER = "better"
    SIMILAR = "similar"
    WORSE = "worse"
    MUCH_WORSE = "much_worse"
    HIGHER = "higher"
    LOWER = "lower"
    MUCH_HIGHER = "much_higher"
    MUCH_LOWER = "much_lower"
    NOT_COMPARED = "not_compared"


COMPARISON_LABELS = {
    Comparison.MUCH_BETTER: "Much better than London",
    Comparison.BETTER: "Better than London",
    Comparison.SIMILAR: "Similar to London",
    Comparison.WORSE: "Worse than London",
    Comparison.MUCH_WORSE: "Much worse than London",
    Comparison.HIGHER: "Higher than London",
    Comparison.LOWER: "Lower than London",
    Comparison.MUCH_HIGHER: "Much higher than London",
    Comparison.MUCH_LOWER: "Much lower than London",
    Comparison.NOT_COMPARED: "Not compared",
}
# A population group's figure is compared with its own area's all-people figure, not London's.
GROUP_COMPARISON_LABELS = {
    c: label.replace(" London", " all people in the area") for c, label in COMPARISON_LABELS.items()
}


# Measures whose figures are on the same scale at every area level, so that a borough's can be
# set beside London's and ranked among other boroughs'. A count is not: a borough's count is a
# part of London's total (and boroughs differ in size), so it is never compared nor ranked
# unless it becomes a rate per population. docs/statistics.md, "What is compared with what".
COMPARABLE_MEASURES = frozenset({"proportion", "rate", "mean"})
NOT_COMPARED_REASON = {
    "count": (
        "A count is not compared: a borough's count is part of London's total, and boroughs differ in "
        "size, so a bigger or smaller number says nothing about how well an area does. Rates per 100,000 "
        "people and percentages are compared instead."
    ),
}


def is_comparable(measure: str | None) -> bool:
    """May figures of this measure be compared with London's and ranked into quintiles?"""
    return measure is None or measure in COMPARABLE_MEASURES


def compare(
    benchmark: float | None,
    limits95: tuple[float, float] | None,
    limits998: tuple[float, float] | None,
    polarity: str,
    measure: str | None = None,
) -> Comparison:
    """Compare an area with a benchmark through its intervals and the indicator's polarity.

    polarity: "higher" (higher is better), "lower" (lower is better) or "none". A count
    (`measure="count"`) is never compared.
    """
    if benchmark is None or limits95 is None or not is_comparable(measure):
        return Comparison.NOT_COMPARED
    low95, high95 = limits95
    if low95 <= benchmark <= high95:
        return Comparison.SIMILAR
    area_higher = low95 > benchmark
    much = limits998 is not None and not (limits998[0] <= benchmark <= limits998[1])
    if polarity == "none":
        if area_higher:
            return Comparison.MUCH_HIGHER if much else Comparison.HIGHER
        return Comparison.MUCH_LOWER if much else Comparison.LOWER
    better = area_higher if polarity == "higher" else not area_higher
    if better:
        return Comparison.MUCH_BETTER if much else Comparison.BETTER
    return Comparison.MUCH_WORSE if much else Comparison.WORSE


def quintiles(values: dict[str, float], polarity: str, measure: str | None = None) -> dict[str, int]:
    """Quintile 1 (best) to 5 (worst) for each key; empty when fewer than five values, or for counts.

    With no judgement, quintile 1 holds the highest values (an order, not a judgement). Ties
    share the better quintile.
    """
    if len(values) < 5 or not is_comparable(measure):
        return {}
    descending = polarity != "lower"
    ordered = sorted(values.items(), key=lambda kv: kv[1], reverse=descending)
    n = len(ordered)
    result: dict[str, int] = {}
    previous_value: float | None = None
    previous_quintile = 1
    for index, (key, value) in enumerate(ordered):
        quintile = min(5, index * 5 // n + 1)
        if previous_value is not None and value == previous_value:
            quintile = previous_quintile
        result[key] = quintile
        previous_value, previous_quintile = value, quintile
    return result


@dataclass(frozen=True)
class Disclosed:
    """A count as it may be published: None means suppressed ("*")."""

    value: int | None

    @property
    def text(self) -> str:
        return "*" if self.value is None else f"{self.value:,}"


SUPPRESS_BELOW = 5
# A percentage is computed from its published (rounded) numerator and denominator, which can move
# it by up to 7.9 points at a denominator of 50 (37.5 at 10): below this published denominator it
# is not shown (its counts are). docs/statistics.md, "Disclosure control".
PERCENT_MIN_DENOMINATOR = 50


def published_count(count: float) -> float:
    """A count as the published figures are computed from it: from 5 on, rounded to the nearest 5.

    Below 5 the count is suppressed and nothing computed from it is shown. The SQL twin is
    outcomes.aggregation.published.
    """
    return count if count < SUPPRESS_BELOW else 5 * math.floor(count / 5 + 0.5)


def disclose_count(count: int | None) -> Disclosed:
    """Sub-national counts: below 5 suppressed, others rounded to the nearest 5 (halves up)."""
    if count is None or count < SUPPRESS_BELOW:
        return Disclosed(None)
    return Disclosed(int(5 * math.floor(count / 5 + 0.5)))


def ratio_is_suppressed(numerator: float | None, denominator: float | None) -> bool:
    """Is a ratio suppressed: when either part is below 5 (contract performance's rule)."""
    return numerator is None or denominator is None or numerator < SUPPRESS_BELOW or denominator < SUPPRESS_BELOW


# Secondary suppression -------------------------------------------------------------------
# Rounding to 5 leaves each published count within 2 of the truth, and a "*" means 0 to 4.
# Subtracting the published boroughs from their sub-region's or London's total can still pin
# a suppressed borough down exactly when every bound lines up (say four boroughs of 8, shown
# as 10, and one of 0: the sub-region's 32 is shown as 30, which leaves exactly 0 for the
# hidden one). `pinned_boroughs` finds such cases as an attacker would, by interval
# arithmetic over the area tree; `secondary_suppression` then hides the sub-region's total,
# and if that is not enough London's too, until nothing is pinned.

INFINITY = float("inf")


def _round5(count: float) -> int:
    return int(5 * math.floor(count / 5 + 0.5))


def published_bounds(count: float | None, *, hidden: bool = False) -> tuple[float, float]:
    """What a reader can tell about a true count from what is published of it (disclose_count)."""
    if count is None or hidden:
        return (0, INFINITY)
    if count < SUPPRESS_BELOW:
        return (0, SUPPRESS_BELOW - 1)
    shown = _round5(count)
    return (max(SUPPRESS_BELOW, shown - 2), shown + 2)


@dataclass(frozen=True)
class CellArea:
    """One area's count in one cell: borough (parent = its sub-region), sub-region, or London."""

    key: Any
    level: str  # "borough", "sub_region" or "london"
    parent: Any
    count: float


def narrowed_boroughs(areas: list[CellArea], hidden: Collection[Any] = ()) -> set[Any]:
    """Suppressed boroughs of which the published counts of the cell rule out some value of 0 to 4.

    A reader knows each published count to within its rounding (`published_bounds`), each "*" to
    be 0 to 4, a hidden total nothing, and that every total is the sum of its areas. Because the
    bounds are whole-number intervals and the areas form a tree (boroughs in sub-regions in
    London), a value is possible exactly when, with the borough set to it, every sub-region's own
    bounds meet the sum of its boroughs' and London's meet the sum of its sub-regions': the test
    below is exact, not an approximation.
    """
    london = next((a for a in areas if a.level == "london"), None)
    regions = {a.key: a for a in areas if a.level == "sub_region"}
    boroughs: dict[Any, list[CellArea]] = {}
    for a in areas:
        if a.level == "borough":
            boroughs.setdefault(a.parent, []).append(a)

    def bounds(a: CellArea | None) -> tuple[float, float]:
        return (0, INFINITY) if a is None else published_bounds(a.count, hidden=a.key in hidden)

    def region_total(key: Any, fixed: Any = None, value: float = 0) -> tuple[float, float] | None:
        low = high = 0.0
        for b in boroughs[key]:
            b_low, b_high = (value, value) if b.key == fixed else bounds(b)
            low, high = low + b_low, high + b_high
        own_low, own_high = bounds(regions.get(key))
        low, high = max(low, own_low), min(high, own_high)
        return (low, high) if low <= high else None

    def possible(fixed: CellArea, value: float) -> bool:
        low = high = 0.0
        for key in boroughs:
            total = region_total(key, fixed.key, value) if key == fixed.parent else region_total(key)
            if total is None:
                return False
            low, high = low + total[0], high + total[1]
        if london is None:
            return True
        london_low, london_high = bounds(london)
        return max(low, london_low) <= min(high, london_high)

    narrowed = set()
    for members in boroughs.values():
        for b in members:
            if b.count >= SUPPRESS_BELOW or b.key in hidden:
                continue
            if not all(possible(b, v) for v in range(SUPPRESS_BELOW)):
                narrowed.add(b.key)
    return narrowed


def secondary_suppression(areas: list[CellArea]) -> set[Any]:
    """The totals (sub-regions, then London) to hide so that no suppressed borough is narrowed."""
    hidden: set[Any] = set()
    parent_of = {a.key: a.parent for a in areas}
    london = next((a.key for a in areas if a.level == "london"), None)
    regions = {a.key for a in areas if a.level == "sub_region"}
    while pinned := narrowed_boroughs(areas, hidden):
        more = {parent_of[b] for b in pinned if parent_of[b] in regions} - hidden
        if not more and london is not None and london not in hidden:
            more = {london}
        if not more:
            break
        hidden |= more
    return hidden


# Disclosure control of group figures, both ways ------------------------------------------
# A breakdown's figures form a table: areas (boroughs in sub-regions in London) down, groups
# across, and each area's all-people figure beside them. Every column adds up the area tree, and
# in each area the groups add up to the all-people figure when the breakdown's groups cover
# everyone (every breakdown with a "not known" group; deprivation has none, so there the groups
# add up to at most the all-people figure). A reader can subtract along both: an area's
# all-people total less its shown groups, and London's or a sub-region's group total less its
# shown boroughs of that group. `group_suppression` finds what such subtraction, repeated until
# it learns nothing new, tells about a suppressed count, as the reader would, and hides further
# group figures until it tells nothing. docs/statistics.md, "Disclosure control, both ways".


@dataclass(frozen=True)
class GroupCell:
    """One area's count for one group ("" for the area's all-people figure) in one cell and basis."""

    area: Any
    level: str  # "borough", "sub_region" or "london"
    parent: Any
    group: str
    count: float


@dataclass
class _Line:
    total: int
    parts: list[int]
    equal: bool  # False: the parts add up to at most the total


def _update(line: _Line, low: list[float], high: list[float]) -> list[int] | None:
    """One line's bounds consistency, in place: the figures whose bounds moved, or None if some bound is empty.

    The total's bounds meet the sum of its parts' (its high only when the parts add up to it
    exactly), then each part's meet the total less the other parts'.
    """
    parts = line.parts
    moved: list[int] = []
    sum_low = sum(low[p] for p in parts)
    infinite = sum(1 for p in parts if high[p] == INFINITY)
    finite_high = sum(high[p] for p in parts if high[p] != INFINITY)
    sum_high = INFINITY if infinite else finite_high
    t = line.total
    new_low = max(low[t], sum_low)
    new_high = min(high[t], sum_high) if line.equal else high[t]
    if (new_low, new_high) != (low[t], high[t]):
        low[t], high[t] = new_low, new_high
        moved.append(t)
    if low[t] > high[t]:
        return None
    for p in parts:
        others_low = sum_low - low[p]
        part_high = min(high[p], high[t] - others_low)
        part_low = low[p]
        if line.equal and high[t] != INFINITY:
            others_inf = infinite - (1 if high[p] == INFINITY else 0)
            if not others_inf:
                others_high = finite_high - (high[p] if high[p] != INFINITY else 0)
                part_low = max(part_low, low[t] - others_high)
        if (part_low, part_high) != (low[p], high[p]):
            low[p], high[p] = part_low, part_high
            moved.append(p)
        if low[p] > high[p]:
            return None
    return moved


def _tighten(
    low: list[float],
    high: list[float],
    lines: list[_Line],
    touching: dict[int, list[int]],
    start: list[int] | None = None,
) -> bool:
    """Bounds consistency over the lines, in place, until nothing changes: False if some bound is empty.

    A worklist: the lines `start` (all when None) first, then every line through a figure whose
    bounds moved, so that from bounds already consistent a change costs only what it reaches.
    """
    pending = list(range(len(lines))) if start is None else list(start)
    queued = set(pending)
    while pending:
        index = pending.pop()
        queued.discard(index)
        moved = _update(lines[index], low, high)
        if moved is None:
            return False
        for figure in moved:
            for other in touching[figure]:
                if other != index and other not in queued:
                    queued.add(other)
                    pending.append(other)
        if moved and index not in queued:  # its own sums moved too: once more until it settles
            queued.add(index)
            pending.append(index)
    return True


def _settles_at_once(
    target: int, low: list[float], high: list[float], lines: list[_Line], touching: dict[int, list[int]]
) -> bool:
    """From settled bounds with the target 0 to 4, does fixing it to any of 0 to 4 move nothing at all?

    Then no value is ruled out, and the per-value search can be skipped: its answer is known. Why
    this is sound (docs/statistics.md, "Disclosure control, both ways"): `_tighten` from the
    settled bounds with the target fixed starts with the lines through the target; if none of them
    moves a bound, nothing is queued and every value stays possible. Whether a line moves a bound
    is a handful of comparisons of sums of the bounds, and the target's value enters each of them
    on one side only: a sum of lows grows with it (a total's low, another part's high and the
    target's own high are checked against it), a sum of highs shrinks as it falls (a total's high,
    another part's low and the target's own low), and as a total its value meets its parts' sums
    and the parts' bounds the same one-sided way. So a line that moves nothing at 0 and at 4 moves
    nothing at 1, 2 or 3; checking both ends is checking all five values.
    """
    for value in (0, SUPPRESS_BELOW - 1):
        fixed_low, fixed_high = list(low), list(high)
        fixed_low[target] = fixed_high[target] = value
        for index in touching[target]:
            if _update(lines[index], fixed_low, fixed_high) != []:
                return False  # something moved (or emptied): the full search decides
    return True


def group_suppression(
    cells: list[GroupCell],
    totals: list[GroupCell],
    hidden_totals: Collection[Any] = (),
    *,
    exhaustive: bool = True,
    precheck: bool = True,
) -> set[tuple[Any, str]]:
    """The (area, group) figures of one breakdown to hide so that no suppressed count is narrowed.

    `cells` are the groups' counts at every area level, `totals` the all-people counts (their
    suppression decided already: `hidden_totals` are hidden, and are never added to here).
    A suppressed count (below 5) is narrowed when subtraction along the lines (each area tree
    total, each area's groups against its all-people total) rules out some value of 0 to 4.
    Hiding goes to the nearest figure that ends the narrowing (`candidates`: a sibling group of
    the same area, the smallest shown first, then the group's sub-region and London totals, and
    outwards), or if none does on its own the nearest, and the search goes on. An all-people
    figure is hidden for a group's sake only when no group figure is left to hide (the all-people
    figures alone give the group away); the result then holds (area, "") for it. Every step
    hides one more figure, so this stops.

    `precheck` (the default) skips the per-value search for a suppressed count that no line
    through it can narrow (`_settles_at_once`); False runs the full search every time, which the
    tests compare it with. The answer is the same.
    """
    # in a fixed order, so that ties between equal counts are decided the same way whatever order
    # the rows come in (both paths, both bases)
    everything = sorted([*cells, *totals], key=lambda c: (c.group, str(c.area)))
    index = {(c.area, c.group): k for k, c in enumerate(everything)}
    lines: list[_Line] = []
    by_group: dict[str, list[GroupCell]] = {}
    for c in everything:
        by_group.setdefault(c.group, []).append(c)
    for members in by_group.values():
        group = members[0].group
        regions = [c for c in members if c.level == "sub_region"]
        for region in regions:
            parts = [index[(c.area, group)] for c in members if c.level == "borough" and c.parent == region.area]
            if parts:
                lines.append(_Line(index[(region.area, group)], parts, True))
        london = next((c for c in members if c.level == "london"), None)
        if london is not None:
            parts = [index[(c.area, group)] for c in regions]
            if not regions:
                parts = [index[(c.area, group)] for c in members if c.level == "borough"]
            if parts:
                lines.append(_Line(index[(london.area, group)], parts, True))
    groups_of: dict[Any, list[int]] = {}
    for c in cells:
        groups_of.setdefault(c.area, []).append(index[(c.area, c.group)])
    for total in totals:
        parts = groups_of.get(total.area, [])
        if not parts:
            continue
        exact = sum(everything[p].count for p in parts)
        # Only a true relation is one a reader can use (and one the published figures cannot contradict).
        if exhaustive and exact == total.count:
            lines.append(_Line(index[(total.area, "")], parts, True))
        elif exact <= total.count:
            lines.append(_Line(index[(total.area, "")], parts, False))

    hidden: set[int] = {index[(a, "")] for a in hidden_totals if (a, "") in index}
    targets = [k for k, c in enumerate(everything) if c.count < SUPPRESS_BELOW and k not in hidden]
    if not targets:
        return set()

    def bounds() -> tuple[list[float], list[float]]:
        low, high = [], []
        for k, c in enumerate(everything):
            b_low, b_high = published_bounds(c.count, hidden=k in hidden)
            low.append(b_low)
            high.append(b_high)
        return low, high

    touching: dict[int, list[int]] = {k: [] for k in range(len(everything))}
    for number, line in enumerate(lines):
        for figure in (line.total, *line.parts):
            touching[figure].append(number)
    settled: dict[frozenset[int], tuple[list[float], list[float]] | None] = {}

    def narrowed(target: int) -> bool:
        key = frozenset(hidden)
        if key not in settled:  # what the published figures tell, once for each set of hidden ones
            low, high = bounds()
            settled[key] = (low, high) if _tighten(low, high, lines, touching) else None
        base = settled[key]
        if base is None:
            return False  # cannot happen with true relations; nothing to learn from a contradiction
        low, high = base
        if low[target] > 0 or high[target] < SUPPRESS_BELOW - 1:
            return True
        if precheck and _settles_at_once(target, low, high, lines, touching):
            return False
        for value in range(SUPPRESS_BELOW):
            fixed_low, fixed_high = list(low), list(high)
            fixed_low[target] = fixed_high[target] = value
            if not _tighten(fixed_low, fixed_high, lines, touching, touching[target]):
                return True
        return False

    def candidates(target: int) -> list[int]:
        """Shown group figures to hide, nearest the target's lines first: its area's other groups,
        its group's sub-region and London totals and sub-region neighbours, then the other groups'
        totals above it, then the rest (smallest first within each)."""
        c = everything[target]
        shown = sorted(
            (k for k, o in enumerate(everything) if o.group and k not in hidden and o.count >= SUPPRESS_BELOW),
            key=lambda k: everything[k].count,
        )
        region = c.parent if c.level == "borough" else c.area
        above = {region} | {o.area for o in everything if o.level == "london"}
        rings = (
            [k for k in shown if everything[k].area == c.area],
            [k for k in shown if everything[k].group == c.group and (everything[k].area in above)],
            [k for k in shown if everything[k].group == c.group and everything[k].parent == region],
            [k for k in shown if everything[k].area in above],
            [k for k in shown if everything[k].parent == region],
            shown,
        )
        ordered: list[int] = []
        for ring in rings:
            ordered += [k for k in ring if k not in ordered and k != target]
        if ordered:
            return ordered
        # No group figure left to hide: the all-people figures themselves give the group away (say
        # two groups both "*" under an all-people 8 shown as 10: each must be 4). Then, and only
        # then, the all-people figure of the area, its sub-region's and London's.
        totals_shown = [
            k
            for k, o in enumerate(everything)
            if not o.group and k not in hidden and o.count >= SUPPRESS_BELOW and k != target
        ]
        return [k for k in totals_shown if everything[k].area == c.area] + sorted(
            (k for k in totals_shown if everything[k].area in above), key=lambda k: everything[k].level != "sub_region"
        )

    added_totals: set[int] = set()  # all-people figures hidden here, as a last resort
    given_up: set[int] = set()
    while True:
        target = next((t for t in targets if t not in given_up and narrowed(t)), None)
        if target is None:
            break
        options = candidates(target)
        if not options:
            given_up.add(target)
            continue
        chosen = options[0]
        for option in options[:12]:  # the nearest that ends the narrowing on its own, else the nearest
            hidden.add(option)
            if not narrowed(target):
                chosen = option
                break
            hidden.discard(option)
        hidden.add(chosen)
        if not everything[chosen].group:
            added_totals.add(chosen)
    return {(everything[k].area, everything[k].group) for k in hidden if everything[k].group or k in added_totals}


# Gap measures between the groups of a breakdown ------------------------------------------
# docs/statistics.md, "Gaps between groups". Only published group figures take part (a hidden
# group's figure could otherwise be worked out from a gap), and never the "not known" group.


@dataclass(frozen=True)
class GroupFigure:
    """One group's figure in one area, period and basis, as the gap measures read it."""

    group: str
    value: float | None
    lower95: float | None = None
    upper95: float | None = None
    weight: float | None = None  # the group's population (rates) or denominator: its share in the SII
    published: bool = True  # neither suppressed nor hidden


@dataclass
class Inequality:
    groups_compared: int = 0
    suppressed: bool = True
    best_group: str = ""
    worst_group: str = ""
    best_value: float | None = None
    worst_value: float | None = None
    gap: float | None = None
    ratio: float | None = None
    sii: float | None = None
    sii_lower95: float | None = None
    sii_upper95: float | None = None
    rii: float | None = None
    rii_lower95: float | None = None
    rii_upper95: float | None = None


NOT_KNOWN_GROUP = "not-known"
QUINTILES = ("q1", "q2", "q3", "q4", "q5")  # IMD quintiles, q1 the most deprived


def slope_index(figures: list[GroupFigure]) -> tuple[float, float, float, float | None, float | None, float | None]:
    """(SII, its 95% limits, RII, its 95% limits) from the five quintiles' figures, q1 first.

    Each quintile sits at the midpoint of its share of the population, cumulated from the most
    deprived (0) to the least deprived (1); the values are fitted by least squares weighted by
    those shares (the Fingertips method). SII is the fitted value at the most deprived end less
    that at the least deprived end (minus the slope): positive when the figure is higher among the
    more deprived. RII is the SII over the population-weighted mean of the values.

    The slope is a weighted sum of the values (b = sum c_i y_i), so its variance is
    sum c_i^2 se_i^2 with each value's standard error from its own 95% limits, (upper - lower) /
    (2 x 1.96): the analytical method (Low and Low 2004), not PHE's simulation. RII's limits are
    the SII's over the same mean.
    """
    total = sum(f.weight or 0 for f in figures)
    shares = [(f.weight or 0) / total for f in figures]
    cumulative = 0.0
    midpoints = []
    for share in shares:
        midpoints.append(cumulative + share / 2)
        cumulative += share
    x_mean = sum(p * x for p, x in zip(shares, midpoints, strict=True))
    y_mean = sum(p * (f.value or 0) for p, f in zip(shares, figures, strict=True))
    sxx = sum(p * (x - x_mean) ** 2 for p, x in zip(shares, midpoints, strict=True))
    weights = [p * (x - x_mean) / sxx for p, x in zip(shares, midpoints, strict=True)]
    slope = sum(c * (f.value or 0) for c, f in zip(weights, figures, strict=True))
    variance = sum(
        c * c * (((f.upper95 or 0) - (f.lower95 or 0)) / (2 * Z95)) ** 2 for c, f in zip(weights, figures, strict=True)
    )
    sii = -slope
    half = Z95 * math.sqrt(variance)
    low, high = sii - half, sii + half
    if y_mean == 0:
        return sii, low, high, None, None, None
    return sii, low, high, sii / y_mean, low / y_mean, high / y_mean


def inequality(figures: list[GroupFigure], polarity: str, breakdown: str) -> Inequality:
    """The gap measures of one breakdown's groups (in the order they are shown).

    Best and worst by the polarity ("none": best is the highest, worst the lowest; ties go to the
    group shown first); gap = worst - best, in the indicator's unit; ratio = worst / best (none
    when best is 0). For deprivation, the SII and RII when all five quintiles are published with
    their limits and a population. Suppressed when fewer than two groups are published.
    """
    shown = [f for f in figures if f.published and f.value is not None and f.group != NOT_KNOWN_GROUP]
    result = Inequality(groups_compared=len(shown))
    if len(shown) < 2:
        return result
    result.suppressed = False
    highest = max(shown, key=lambda f: f.value)  # max and min keep the first of equal values
    lowest = min(shown, key=lambda f: f.value)
    best, worst = (lowest, highest) if polarity == "lower" else (highest, lowest)
    result.best_group, result.worst_group = best.group, worst.group
    result.best_value, result.worst_value = best.value, worst.value
    result.gap = worst.value - best.value  # type: ignore[operator]
    result.ratio = worst.value / best.value if best.value else None  # type: ignore[operator]
    if breakdown == "deprivation":
        by_group = {f.group: f for f in shown}
        quintiles = [by_group.get(q) for q in QUINTILES]
        if all(
            f is not None and f.weight and f.weight > 0 and f.lower95 is not None and f.upper95 is not None
            for f in quintiles
        ):
            (
                result.sii,
                result.sii_lower95,
                result.sii_upper95,
                result.rii,
                result.rii_lower95,
                result.rii_upper95,
            ) = slope_index(quintiles)  # type: ignore[arg-type]
    return result
