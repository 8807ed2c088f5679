"""An attacker written as code (issue 25): everything public, the disclosure rules known.

It reads only what anyone may read (the metrics API on a basis, the published populations, the
indicator catalogue) and tries to learn more about a suppressed count than "0 to 4":

1. Every published figure of an area (value, 95% and 99.8% limits, comparison with London) is
   recomputed, for every exact count the area's published count allows, under either rule: from
   the published counts (docs/statistics.md) or from the exact count (the usual convention, and
   this portal's until issue 25). A candidate that neither rule explains is ruled out: this is
   where a rate times its population, or a limit, would give a count away. A published count
   narrowed by its own figures, or a figure no candidate explains, is reported. Quintiles and
   trends are checked to be the rules' functions of the published figures.
2. The candidates left are combined over the area tree (boroughs in ICS sub-regions in London;
   every total the sum of its areas), by trying every value 0 to 4 of each suppressed borough
   against every other area's candidates: a value that no combination allows narrows it.

Only the formulas for limits (Wilson, exact Poisson, Byar) are imported from outcomes.statistics:
they are checked against published tables on their own. The reasoning is written here, apart from
the portal's own secondary suppression.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from outcomes.statistics import poisson_limits, wilson

Z = {95: 1.959963984540054, 99.8: 3.090232306167813}
PLACES = {"proportion": 1, "rate": 1, "mean": 2, "count": 0}
UNKNOWN = (0, 10**12)


def shown(value: float | Decimal | None, measure: str) -> Decimal | None:
    """A figure as the portal shows it: stored to six places, then to the places of its measure."""
    if value is None:
        return None
    stored = Decimal(repr(value) if isinstance(value, float) else value).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP
    )
    return stored.quantize(Decimal(1).scaleb(-PLACES[measure]), rounding=ROUND_HALF_UP)


def published(count: int) -> int:
    """The rule as docs/statistics.md states it: from 5 on, rounded to the nearest 5."""
    return count if count < 5 else 5 * math.floor(count / 5 + 0.5)


def figures(measure: str, x: int, n: int | None, population: int | None) -> tuple[Any, ...] | None:
    """(value, l95, u95, l998, u998) at full precision from counts, by measure; None = not computable."""
    if measure == "proportion":
        if not n or x > n:
            return None
        value = Decimal(100) * Decimal(x) / Decimal(n)
        limits = [100 * v for level in (95, 99.8) for v in wilson(x, n, Z[level])]
        return (value, *limits)
    if measure == "rate":
        if not population:
            return None
        value = Decimal(x) / Decimal(population) * 100000
        limits = [v / population * 100000 for level in (95, 99.8) for v in poisson_limits(x, level)]
        return (value, *limits)
    if measure == "count":
        return (Decimal(x), None, None, None, None)
    return None


def _six(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP
    )


def _close(a: Decimal | None, b: Any, measure: str) -> bool:
    """Equal as shown; limits are computed in floating point, so one unit in the last place is allowed."""
    if a is None or b is None:
        return a is None and b is None
    unit = Decimal(1).scaleb(-PLACES[measure])
    return abs(Decimal(str(b)) - a) <= unit


@dataclass
class Area:
    code: str
    level: str
    parent: str | None
    row: dict[str, Any] | None  # the API's row, None when the area has no figure in the cell
    population: int | None = None
    candidates: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Findings:
    cells: int = 0
    suppressed: int = 0  # suppressed borough counts examined (numerators and denominators)
    narrowed: list[tuple[Any, ...]] = field(default_factory=list)
    inconsistent: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, other: Findings) -> None:
        self.cells += other.cells
        self.suppressed += other.suppressed
        self.narrowed += other.narrowed
        self.inconsistent += other.inconsistent


def _count_range(shown_count: int | None, level: str, suppressed: bool) -> tuple[int, int]:
    if shown_count is None:
        # A "*": a borough is suppressed only below 5; a total may also be hidden to protect one.
        return (0, 4) if level == "borough" and suppressed else UNKNOWN
    return (max(5, shown_count - 2), shown_count + 2)


def _check_figures(area: Area, measure: str, london_full: Any, polarity: str, key: Any, found: Findings) -> None:
    """Step 1: rule out the candidates that do not reproduce the area's published figures."""
    row = area.row
    if row is None or row["value"] is None:
        return
    fields = ("numerator", "denominator") if measure == "proportion" else ("numerator",)
    low, high = area.candidates["numerator"]
    n_low, n_high = area.candidates.get("denominator", (None, None))
    keep_x, keep_n = set(), set()
    for x in range(int(low), int(high) + 1):
        for n in range(int(n_low), int(n_high) + 1) if n_low is not None else [None]:
            # The rule as documented (figures from the published counts), and the usual convention
            # elsewhere (from the exact counts): a candidate stays if either explains every figure.
            for rule, counts in (("published", (published(x), n if n is None else published(n))), ("exact", (x, n))):
                full = figures(measure, counts[0], counts[1], area.population)
                if full is None or not _reproduces(full, row, measure):
                    continue
                if (
                    rule == "published"
                    and measure != "count"
                    and area.level != "london"
                    and _comparison(full, london_full, polarity) != row["comparison"]
                ):
                    continue
                keep_x.add(x)
                if n is not None:
                    keep_n.add(n)
    if not keep_x:
        full = figures(measure, row["numerator"], row["denominator"], area.population)
        expected = full and (
            [shown(full[0], measure)]
            + [shown(v, measure) for v in full[1:]]
            + [_comparison(full, london_full, polarity) if area.level != "london" else None]
        )
        published_figures = [row[k] for k in ("value", "lower95", "upper95", "lower998", "upper998", "comparison")]
        found.inconsistent.append(
            (*key, area.code, "figures not from the published counts", expected, published_figures)
        )
        return
    for name, keep in zip(fields, (keep_x, keep_n), strict=False):
        span = area.candidates[name]
        if keep and ((min(keep), max(keep)) != span or len(keep) != max(keep) - min(keep) + 1):
            found.inconsistent.append((*key, area.code, f"{name} narrowed by its own figures to {sorted(keep)}"))
        if keep:
            area.candidates[name] = (min(keep), max(keep))


def _reproduces(full: Any, row: dict[str, Any], measure: str) -> bool:
    values = [shown(full[0], measure)] + [shown(v, measure) for v in full[1:]]
    if values[0] != Decimal(str(row["value"])):
        return False
    return measure == "count" or all(
        _close(v, row[name], measure)
        for v, name in zip(values[1:], ("lower95", "upper95", "lower998", "upper998"), strict=True)
    )


def _comparison(full: Any, london_full: Any, polarity: str) -> str:
    if london_full is None or full[1] is None:
        return "not_compared"
    benchmark = _six(london_full[0])
    l95, u95, l998, u998 = (_six(v) for v in full[1:])
    if l95 <= benchmark <= u95:
        return "similar"
    higher = l95 > benchmark
    much = "much_" if not (l998 <= benchmark <= u998) else ""
    if polarity == "none":
        return much + ("higher" if higher else "lower")
    return much + ("better" if higher == (polarity == "higher") else "worse")


def _check_quintiles(areas: list[Area], measure: str, polarity: str, key: Any, found: Findings) -> None:
    """Quintiles among boroughs must follow from the published values alone."""
    eligible = [a for a in areas if a.level == "borough" and a.row and a.row["value"] is not None]
    if measure == "count":
        return
    full = {}
    for a in eligible:
        x = a.row["numerator"]
        n = a.row["denominator"]
        f = figures(measure, x, n, a.population)
        full[a.code] = _six(f[0]) if f else None
    ranked = sorted(eligible, key=lambda a: full[a.code] if polarity == "lower" else -full[a.code])
    for a in eligible:
        if len(eligible) < 5:
            expected = None
        else:
            value = full[a.code]
            rank = 1 + sum(1 for b in ranked if (full[b.code] < value if polarity == "lower" else full[b.code] > value))
            expected = (rank - 1) * 5 // len(eligible) + 1
        if a.row["quintile"] != expected:
            found.inconsistent.append((*key, a.code, f"quintile {a.row['quintile']} is not {expected}"))


def _possible(areas: list[Area], name: str, fixed: Area, value: int) -> bool:
    """Step 2: is there an assignment with `fixed` = value where every total is its areas' sum?"""
    by_parent: dict[str | None, list[Area]] = defaultdict(list)
    for a in areas:
        by_parent[a.parent].append(a)
    london = next((a for a in areas if a.level == "london"), None)

    def span(a: Area) -> tuple[int, int]:
        if a is fixed:
            return (value, value)
        return a.candidates.get(name, UNKNOWN)

    low = high = 0
    regions = [a for a in areas if a.level == "sub_region"]
    for region in regions:
        members = by_parent.get(region.code, [])
        if not members:
            continue
        m_low = sum(span(b)[0] for b in members)
        m_high = sum(span(b)[1] for b in members)
        r_low, r_high = span(region)
        t_low, t_high = max(m_low, r_low), min(m_high, r_high)
        if t_low > t_high:
            return False
        low, high = low + t_low, high + t_high
    if london is None:
        return True
    l_low, l_high = span(london)
    return max(low, l_low) <= min(high, l_high)


def attack_cell(rows: list[dict[str, Any]], measure: str, polarity: str, tree: dict[str, Any], key: Any) -> Findings:
    """One cell (indicator, period, basis): rows as /api/v1/metrics/ gives them.

    `tree` maps each area code to (level, parent code, population) for the cell's period.
    """
    found = Findings(cells=1)
    if measure == "mean":
        # A mean's count (its number of people) is published as a count; its value is not a count.
        fields = ("denominator",)
    elif measure == "proportion":
        fields = ("numerator", "denominator")
    else:
        fields = ("numerator",)
    by_code = {r["area"]: r for r in rows}
    areas = []
    for code, (level, parent, population) in tree.items():
        row = by_code.get(code)
        area = Area(code=code, level=level, parent=parent, row=row, population=population)
        for name in fields:
            if row is None:
                area.candidates[name] = (0, 0)  # no figure: no values in this area
            else:
                area.candidates[name] = _count_range(row[name], level, row["suppressed"])
        areas.append(area)
    if measure in ("proportion", "rate", "count"):
        london = next((a for a in areas if a.level == "london"), None)
        london_full = None
        if london and london.row and london.row["value"] is not None:
            london_full = figures(measure, london.row["numerator"], london.row["denominator"], london.population)
        for area in areas:
            _check_figures(area, measure, london_full, polarity, key, found)
        _check_quintiles(areas, measure, polarity, key, found)
    for name in fields:
        for area in areas:
            if area.level != "borough" or area.row is None or area.candidates[name] != (0, 4):
                continue
            found.suppressed += 1
            allowed = [v for v in range(5) if _possible(areas, name, area, v)]
            if allowed != [0, 1, 2, 3, 4]:
                found.narrowed.append((*key, area.code, name, allowed))
    return found


def trend_of(series: list[tuple[float, float]], measure: str) -> str:
    """The documented trend test over five (x, w) published pairs, oldest first."""
    t = [1, 2, 3, 4, 5]
    sw = sum(w for _, w in series)
    sx = sum(x for x, _ in series)
    if sw <= 0:
        return ""
    tbar = sum(w * ti for (_, w), ti in zip(series, t, strict=True)) / sw
    u = sum(x * ti for (x, _), ti in zip(series, t, strict=True)) - sx * tbar
    spread = sum(w * ti * ti for (_, w), ti in zip(series, t, strict=True)) / sw - tbar**2
    variance = (sx / sw) * (1 - sx / sw) * spread * sw if measure == "proportion" else sx * spread
    if variance <= 0:
        return "no_change"
    if u * u / variance > 3.841458820694124:
        return "increasing" if u > 0 else "decreasing"
    return "no_change"
