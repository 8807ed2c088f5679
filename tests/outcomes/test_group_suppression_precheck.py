"""The pre-check that skips the per-value search of group disclosure control gives the full search's answer.

`outcomes.statistics._settles_at_once` says a suppressed count cannot be narrowed when fixing it to 0
or to 4 moves no bound on any line through it (docs/statistics.md, "Disclosure control, both ways").
Here, by hypothesis: on arbitrary systems of lines, whenever it says so the full search rules out no
value; and `group_suppression` hides exactly the same figures with and without it, over generated
tables of every shape the aggregation builds (groups that add up to all people or at most to it,
hidden all-people totals, no London).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes import statistics
from outcomes.statistics import (
    SUPPRESS_BELOW,
    GroupCell,
    _Line,
    _settles_at_once,
    _tighten,
    group_suppression,
    published_bounds,
)


@st.composite
def systems(draw):
    """Figures with published bounds and lines among them, settled; and a target whose bounds are 0 to 4."""
    n = draw(st.integers(3, 9))
    counts = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    hidden = draw(st.sets(st.integers(0, n - 1), max_size=2))
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        # a total above its parts, as in the tables (London over sub-regions over boroughs, all
        # people over groups): no figure is ever its own part, directly or through other lines
        total = draw(st.integers(1, n - 1))
        parts = draw(st.lists(st.integers(0, total - 1), min_size=1, unique=True))
        lines.append(_Line(total, parts, draw(st.booleans())))
    low, high = [], []
    for k, c in enumerate(counts):
        b_low, b_high = published_bounds(c, hidden=k in hidden)
        low.append(b_low)
        high.append(b_high)
    touching = {k: [] for k in range(n)}
    for number, line in enumerate(lines):
        for figure in (line.total, *line.parts):
            touching[figure].append(number)
    return low, high, lines, touching


def _full(target, low, high, lines, touching):
    """The per-value search: the values 0 to 4 of the target that the lines leave possible."""
    possible = []
    for value in range(SUPPRESS_BELOW):
        fixed_low, fixed_high = list(low), list(high)
        fixed_low[target] = fixed_high[target] = value
        if _tighten(fixed_low, fixed_high, lines, touching, touching[target]):
            possible.append(value)
    return possible


@settings(max_examples=500, deadline=None)
@given(systems())
def test_when_the_precheck_skips_a_count_the_full_search_rules_out_nothing(system):
    low, high, lines, touching = system
    if not _tighten(low, high, lines, touching):
        return  # contradictory lines: group_suppression learns nothing from them either
    before = (list(low), list(high))
    for target in range(len(low)):
        if low[target] != 0 or high[target] != SUPPRESS_BELOW - 1:
            continue
        if _settles_at_once(target, low, high, lines, touching):
            assert _full(target, low, high, lines, touching) == list(range(SUPPRESS_BELOW))
        assert (low, high) == before  # the settled bounds are left as they were


# Tables as the aggregation builds them ------------------------------------------------------


@st.composite
def tables(draw):
    regions = draw(st.integers(1, 3))
    groups = ["g1", "g2", "g3", "g4"][: draw(st.integers(2, 4))]
    exhaustive = draw(st.booleans())
    with_london = draw(st.booleans())
    cells, totals = [], []
    region_sums = []
    for r in range(regions):
        boroughs = draw(st.integers(1, 4))
        sums = [0] * len(groups)
        for b in range(boroughs):
            counts = draw(st.lists(st.integers(0, 14), min_size=len(groups), max_size=len(groups)))
            extra = 0 if exhaustive else draw(st.integers(0, 3))
            area = f"B{r}{b}"
            cells += [GroupCell(area, "borough", f"R{r}", g, float(c)) for g, c in zip(groups, counts, strict=True)]
            totals.append(GroupCell(area, "borough", f"R{r}", "", float(sum(counts) + extra)))
            sums = [s + c for s, c in zip(sums, counts, strict=True)]
        cells += [GroupCell(f"R{r}", "sub_region", "L", g, float(c)) for g, c in zip(groups, sums, strict=True)]
        totals.append(GroupCell(f"R{r}", "sub_region", "L", "", float(sum(sums))))
        region_sums.append(sums)
    if with_london:
        london = [sum(col) for col in zip(*region_sums, strict=True)]
        cells += [GroupCell("L", "london", None, g, float(c)) for g, c in zip(groups, london, strict=True)]
        totals.append(GroupCell("L", "london", None, "", float(sum(london))))
    areas = sorted({t.area for t in totals})
    hidden_totals = draw(st.sets(st.sampled_from(areas), max_size=2))
    return cells, totals, hidden_totals, exhaustive


class _Counter:
    """How often the pre-check skipped the search: the comparison must not be a vacuous one."""

    skipped = 0
    searched = 0


_real = statistics._settles_at_once


def _counting(*args, **kwargs):
    answer = _real(*args, **kwargs)
    if answer:
        _Counter.skipped += 1
    else:
        _Counter.searched += 1
    return answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
# Camden-like: women 20 shown, men 3 suppressed; all people 23 would leave men 1 to 4.
@example(
    (
        [GroupCell("B00", "borough", "R0", "g1", 20.0), GroupCell("B00", "borough", "R0", "g2", 3.0)],
        [GroupCell("B00", "borough", "R0", "", 23.0)],
        set(),
        True,
    )
)
def test_group_suppression_hides_the_same_figures_with_and_without_the_precheck(table):
    cells, totals, hidden_totals, exhaustive = table
    full = group_suppression(cells, totals, hidden_totals, exhaustive=exhaustive, precheck=False)
    statistics._settles_at_once = _counting
    try:
        fast = group_suppression(cells, totals, hidden_totals, exhaustive=exhaustive, precheck=True)
    finally:
        statistics._settles_at_once = _real
    assert fast == full


def test_the_precheck_both_skips_and_defers_on_generated_tables():
    """Over generated tables it both skipped the search and handed it on: the comparison is not a vacuous one.

    Derandomised, so the counts are the same on every run: with random examples a run could draw too
    few tables where the pre-check skips, and fail without anything having changed (it did in CI: 6).
    """
    _Counter.skipped = _Counter.searched = 0

    @settings(
        max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(tables())
    def count(table):
        test_group_suppression_hides_the_same_figures_with_and_without_the_precheck.hypothesis.inner_test(table)

    count()
    assert _Counter.skipped > 10 and _Counter.searched > 100, (_Counter.skipped, _Counter.searched)
