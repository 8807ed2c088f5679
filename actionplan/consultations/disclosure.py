"""Small-number control for consultation results and "did it make a difference" ratings.

The rule (docs/statistics.md, "Consultation results"): no count under 5 is shown to the
public ("fewer than 5"); and where counts add up to a total the page also shows (the options
of a one-choice question, the points of a scale, the groups people answer as), more counts
are hidden ("not shown") until a reader who knows the total, every shown count and this rule
still finds every value 0 to 4 possible for each count under 5. If hiding every count cannot
do that, the whole breakdown is withheld.

Pure functions on plain numbers: the selectors count in SQL and ask these what to show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SHOWN = 5
SMALL = range(MIN_SHOWN)  # 0 to 4: the values a hidden small count must keep possible

SHOWN = "shown"
SMALL_HIDDEN = "fewer_than_5"
ALSO_HIDDEN = "not_shown"


@dataclass(frozen=True)
class Cell:
    """One count as published: its value only when ``state`` is ``shown``."""

    label: str
    state: str
    value: int | None

    @property
    def shown(self) -> bool:
        return self.state == SHOWN

    @property
    def text(self) -> str:
        if self.state == SHOWN:
            return f"{self.value:,}"
        return "fewer than 5" if self.state == SMALL_HIDDEN else "not shown"


@dataclass(frozen=True)
class Breakdown:
    """Counts with their total, as published. ``withheld``: no count at all is shown."""

    total: int | None  # None: the total itself is fewer than 5
    cells: tuple[Cell, ...]
    withheld: bool = False

    @property
    def total_text(self) -> str:
        return "fewer than 5" if self.total is None else f"{self.total:,}"

    @property
    def any_hidden(self) -> bool:
        return self.withheld or any(not c.shown for c in self.cells)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "withheld": self.withheld,
            "counts": [{"label": c.label, "count": c.value, "shown": c.state} for c in self.cells],
        }


def _safe(values: Sequence[int], small: set[int], also: set[int]) -> bool:
    """Whether every hidden small count may still be any of 0 to 4, to a reader who knows the total,
    the shown counts, which hidden counts are small, and that every other hidden count is at least
    5 and at most the smallest count still shown (this rule hid the smallest first)."""
    if not small:
        return True
    hidden_sum = sum(values[i] for i in small | also)
    shown = [v for i, v in enumerate(values) if i not in small and i not in also]
    ceiling = min(shown) if shown else math.inf
    # Beside any one small count, the other hidden ones: the other small ones 0 to 4 each, the
    # rest 5 to the ceiling each. Every value 0 to 4 must leave them a possible sum.
    low = MIN_SHOWN * len(also)
    high = (MIN_SHOWN - 1) * (len(small) - 1) + ceiling * len(also)
    return all(low <= hidden_sum - v <= high for v in SMALL)


def partition(labels: Sequence[str], values: Sequence[int]) -> Breakdown:
    """Counts that add up to a published total (every answer in exactly one count)."""
    total = sum(values)
    if total < MIN_SHOWN:
        return Breakdown(None, tuple(Cell(label, SMALL_HIDDEN, None) for label in labels), withheld=True)
    small = {i for i, v in enumerate(values) if v < MIN_SHOWN}
    also: set[int] = set()
    while not _safe(values, small, also):
        candidates = [i for i in range(len(values)) if i not in small and i not in also]
        if not candidates:
            return Breakdown(total, tuple(Cell(label, ALSO_HIDDEN, None) for label in labels), withheld=True)
        # The smallest count still shown (the first of equals), so the ceiling above holds.
        also.add(min(candidates, key=lambda i: (values[i], i)))
    return Breakdown(total, tuple(_cell(labels[i], values[i], i, small, also) for i in range(len(values))))


def independent(labels: Sequence[str], values: Sequence[int], total: int) -> Breakdown:
    """Counts that do not add up to anything shown (a many-choice question: each person may pick
    several), each published on its own: under 5 is hidden, and so is a count that leaves fewer
    than 5 of the ``total`` who did not choose it (the total minus it would give that away)."""
    if total < MIN_SHOWN:
        return Breakdown(None, tuple(Cell(label, SMALL_HIDDEN, None) for label in labels), withheld=True)
    small = {i for i, v in enumerate(values) if v < MIN_SHOWN}
    also = {i for i, v in enumerate(values) if i not in small and total - v < MIN_SHOWN}
    return Breakdown(total, tuple(_cell(labels[i], values[i], i, small, also) for i in range(len(values))))


def _cell(label: str, value: int, i: int, small: set[int], also: set[int]) -> Cell:
    if i in small:
        return Cell(label, SMALL_HIDDEN, None)
    if i in also:
        return Cell(label, ALSO_HIDDEN, None)
    return Cell(label, SHOWN, value)


def published_mean(breakdown: Breakdown, scores: Sequence[int], values: Sequence[int]) -> float | None:
    """The mean score, only when at least 5 answered and no count of the scale is hidden: a mean
    beside a hidden count gives the hidden scores' sum away (with the total, their number)."""
    if breakdown.total is None or breakdown.any_hidden:
        return None
    n = sum(values)
    return round(sum(s * v for s, v in zip(scores, values, strict=True)) / n, 1) if n else None
