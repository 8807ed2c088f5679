"""What the inequalities page, its download and the API show, under disclosure control.

Each group's figure goes through outcomes.dashboards.public_metric, as every dashboard figure
does (suppression, secondary suppression, rounding). The gap measures come from
`InequalityMetric`, and are shown only when both the best and the worst group's figures are
published; the gap and ratio are then worked out from those published figures, so they agree
with what the reader sees and reveal nothing the figures do not. The slope and relative index
of inequality (deprivation only) are rounded as the indicator's figures are, and not given for
counts. The gap's trend compares the earliest and the latest period (docs/statistics.md,
"Inequalities").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kernel.numbers import MEASURE_PLACES, format_number
from outcomes.breakdowns import Breakdown, breakdown_label, group_label, groups_for
from outcomes.dashboards import PublicMetric, format_figure, public_metric, round_value
from outcomes.models import Indicator, InequalityMetric, Measure, Metric, Polarity
from outcomes.statistics import Z95, Comparison
from stakeholders.models import Area

NOT_SHOWN = "Not shown (small numbers)"
# A group's count is shown but it has no value: a rate with no population for the group (e.g.
# "not known", which has no residents to count), or a proportion with nothing to divide by.
NO_VALUE = "No figure (no population or denominator for this group)"

# A group is compared with its area's all-people figure (Metric.comparison of a group's row).
GROUP_COMPARISON_WORDS = {
    Comparison.MUCH_BETTER: "Much better than all people",
    Comparison.BETTER: "Better than all people",
    Comparison.SIMILAR: "Similar to all people",
    Comparison.WORSE: "Worse than all people",
    Comparison.MUCH_WORSE: "Much worse than all people",
    Comparison.HIGHER: "Higher than all people",
    Comparison.LOWER: "Lower than all people",
    Comparison.MUCH_HIGHER: "Much higher than all people",
    Comparison.MUCH_LOWER: "Much lower than all people",
    Comparison.NOT_COMPARED: "Not compared",
}
# The chart's marker for each comparison, so that it is told by shape as well as colour:
# up for better (or higher), down for worse (or lower), a circle for similar, a hollow square
# for not compared; "much" is the same shape, larger.
MARKERS = {
    Comparison.MUCH_BETTER: ("up", True),
    Comparison.BETTER: ("up", False),
    Comparison.MUCH_HIGHER: ("up", True),
    Comparison.HIGHER: ("up", False),
    Comparison.SIMILAR: ("circle", False),
    Comparison.LOWER: ("down", False),
    Comparison.MUCH_LOWER: ("down", True),
    Comparison.WORSE: ("down", False),
    Comparison.MUCH_WORSE: ("down", True),
    Comparison.NOT_COMPARED: ("square", False),
}
# Fill colours (NHS identity): a second cue only, beside the shape and the words.
MARKER_FILL = {
    "better": "#007f3b",
    "worse": "#d5281b",
    "similar": "#ffb81c",
    "higher": "#005eb8",
    "lower": "#41b6e6",
    "not-compared": "#ffffff",
}
MARKER_CLASS = {
    Comparison.MUCH_BETTER: "better",
    Comparison.BETTER: "better",
    Comparison.SIMILAR: "similar",
    Comparison.WORSE: "worse",
    Comparison.MUCH_WORSE: "worse",
    Comparison.HIGHER: "higher",
    Comparison.MUCH_HIGHER: "higher",
    Comparison.LOWER: "lower",
    Comparison.MUCH_LOWER: "lower",
    Comparison.NOT_COMPARED: "not-compared",
}


class Trend:
    NARROWING = "narrowing"
    WIDENING = "widening"
    NO_CLEAR_CHANGE = "no_clear_change"
    NOT_ASSESSED = "not_assessed"


TREND_LABELS = {
    Trend.NARROWING: "Narrowing",
    Trend.WIDENING: "Widening",
    Trend.NO_CLEAR_CHANGE: "No clear change",
    Trend.NOT_ASSESSED: "Not assessed",
}

RATIO_PLACES = 2


def _round(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def difference_text(value: Decimal | None, indicator: Indicator) -> str:
    """A difference in the indicator's unit: "12.3 percentage points", "45.0 per 100,000", "10"."""
    if value is None:
        return ""
    text = format_number(value, places=MEASURE_PLACES.get(indicator.measure))
    if indicator.measure == Measure.PROPORTION:
        return f"{text} percentage points"
    if indicator.measure == Measure.RATE:
        return f"{text} per 100,000"
    return text


@dataclass(frozen=True)
class GroupRow:
    """One group's published figure (None when no figure is stored for the group)."""

    code: str
    label: str
    metric: PublicMetric | None

    @property
    def shown(self) -> bool:
        return self.metric is not None and not self.metric.suppressed and self.metric.value is not None

    @property
    def value_text(self) -> str:
        if self.metric is None:
            return "No figure"
        if self.metric.suppressed:
            return NOT_SHOWN
        return self.metric.value_text if self.metric.value is not None else NO_VALUE

    @property
    def comparison(self) -> str:
        return self.metric.comparison if self.shown and self.metric else Comparison.NOT_COMPARED

    @property
    def comparison_text(self) -> str:
        if not self.shown:
            return ""
        return GROUP_COMPARISON_WORDS.get(Comparison(self.comparison), "Not compared")


@dataclass(frozen=True)
class Gap:
    """The gap measures of one breakdown in one period, as published."""

    period: str
    period_start: dt.date
    breakdown: str
    shown: bool
    reason: str  # why no gap is given, when not shown
    groups_compared: int
    best_group: str = ""
    worst_group: str = ""
    best_value: Decimal | None = None
    worst_value: Decimal | None = None
    gap: Decimal | None = None  # worst minus best
    ratio: Decimal | None = None  # worst divided by best
    sii: Decimal | None = None
    sii_lower95: Decimal | None = None
    sii_upper95: Decimal | None = None
    rii: Decimal | None = None
    rii_lower95: Decimal | None = None
    rii_upper95: Decimal | None = None
    # Standard error of the gap, from the two groups' published 95% limits (the trend's test).
    gap_se: float | None = None

    @property
    def best_label(self) -> str:
        return group_label(self.breakdown, self.best_group)

    @property
    def worst_label(self) -> str:
        return group_label(self.breakdown, self.worst_group)

    @property
    def has_sii(self) -> bool:
        return self.sii is not None


@dataclass
class Section:
    """One breakdown of the page: its groups, the all-people figure, the gap and the gap's trend."""

    breakdown: str
    label: str
    all_people: PublicMetric | None
    groups: list[GroupRow]
    gap: Gap | None
    history: list[Gap]
    trend: str
    trend_reason: str
    chart: dict[str, Any] | None = None

    @property
    def label_lower(self) -> str:
        """ "ethnic group", "deprivation quintile (IMD)": for the middle of a sentence."""
        return self.label[:1].lower() + self.label[1:]

    @property
    def has_figures(self) -> bool:
        return any(g.metric is not None for g in self.groups)

    @property
    def trend_label(self) -> str:
        return TREND_LABELS[self.trend]


@dataclass
class Report:
    indicator: Indicator
    area: Area
    basis: str
    periods: list[dt.date]
    period_start: dt.date | None
    sections: list[Section] = field(default_factory=list)

    @property
    def period(self) -> str:
        return self.indicator.period_label(self.period_start) if self.period_start else ""

    @property
    def computed_at(self) -> dt.datetime | None:
        stamps = [g.metric.computed_at for s in self.sections for g in s.groups if g.metric]
        return max(stamps, default=None)


# Building ---------------------------------------------------------------------------------


def _se_from_limits(lower: Decimal | None, upper: Decimal | None) -> float | None:
    if lower is None or upper is None:
        return None
    return float(upper - lower) / (2 * Z95)


def public_gap(row: InequalityMetric, groups: dict[str, PublicMetric], indicator: Indicator) -> Gap:
    """An InequalityMetric row as published, given the published figures of the same cell's groups."""
    base = {
        "period": indicator.period_label(row.period_start),
        "period_start": row.period_start,
        "breakdown": row.breakdown,
        "groups_compared": row.groups_compared,
    }
    if indicator.measure == Measure.COUNT:
        # Groups differ in size: a bigger group's bigger count is no inequality (docs/statistics.md).
        return Gap(
            shown=False,
            reason="Counts are not compared between groups: groups differ in size, so a larger count "
            "need not mean a higher rate. The gap is given for rates, proportions and means.",
            **base,
        )
    if row.suppressed:
        return Gap(
            shown=False,
            reason="Fewer than two groups have figures that can be published, so there is no gap to give.",
            **base,
        )
    best, worst = groups.get(row.best_group), groups.get(row.worst_group)
    if best is None or worst is None or best.value is None or worst.value is None:
        # The gap names groups whose figures are not published here: giving it would reveal them.
        return Gap(
            shown=False,
            reason="The best or worst group's figure is not published (small numbers), so no gap is given.",
            **base,
        )
    measure = indicator.measure
    gap = worst.value - best.value
    ratio = _round(worst.value / best.value, RATIO_PLACES) if best.value else None
    se_best, se_worst = _se_from_limits(best.lower95, best.upper95), _se_from_limits(worst.lower95, worst.upper95)
    gap_se = math.hypot(se_best, se_worst) if se_best is not None and se_worst is not None else None
    indices: dict[str, Decimal | None] = {}
    if row.breakdown == Breakdown.DEPRIVATION and measure != Measure.COUNT and row.sii is not None:
        places = MEASURE_PLACES[measure]
        indices = {
            "sii": round_value(row.sii, measure),
            "sii_lower95": round_value(row.sii_lower95, measure),
            "sii_upper95": round_value(row.sii_upper95, measure),
            "rii": _round(row.rii, max(places, RATIO_PLACES)),
            "rii_lower95": _round(row.rii_lower95, max(places, RATIO_PLACES)),
            "rii_upper95": _round(row.rii_upper95, max(places, RATIO_PLACES)),
        }
    return Gap(
        shown=True,
        reason="",
        best_group=row.best_group,
        worst_group=row.worst_group,
        best_value=best.value,
        worst_value=worst.value,
        gap=gap,
        ratio=ratio,
        gap_se=gap_se,
        **indices,
        **base,
    )


def gap_trend(history: Sequence[Gap], indicator: Indicator) -> tuple[str, str]:
    """(trend, reason) of the gap from the earliest to the latest period with a published gap.

    Deprivation with the slope index of inequality: the SII of the two periods, each with the
    standard error read off its 95% limits. Otherwise the gap (worst minus best), its standard
    error from the two groups' published 95% limits. The change is clear when its size is more
    than 1.96 standard errors of the difference (a 95% two-sided test); then narrowing if the
    gap's size fell, widening if it grew.
    """
    shown = [g for g in history if g.shown]
    if len(shown) < 2:
        return Trend.NOT_ASSESSED, "A trend needs a published gap in at least two periods."
    first, last = shown[0], shown[-1]
    if first.sii is not None and last.sii is not None:
        before, after = float(first.sii), float(last.sii)
        se_before = _se_from_limits(first.sii_lower95, first.sii_upper95)
        se_after = _se_from_limits(last.sii_lower95, last.sii_upper95)
    else:
        before, after = float(first.gap or 0), float(last.gap or 0)
        se_before, se_after = first.gap_se, last.gap_se
    if se_before is None or se_after is None:
        if indicator.measure == Measure.COUNT:
            return Trend.NOT_ASSESSED, "Counts have no published confidence limits, so a change cannot be tested."
        return Trend.NOT_ASSESSED, "The figures have no confidence limits, so a change cannot be tested."
    if abs(after - before) <= Z95 * math.hypot(se_before, se_after):
        return Trend.NO_CLEAR_CHANGE, f"The gap in {last.period} is within chance of the gap in {first.period}."
    if abs(after) < abs(before):
        return Trend.NARROWING, f"The gap in {last.period} is smaller than in {first.period}, beyond chance."
    return Trend.WIDENING, f"The gap in {last.period} is larger than in {first.period}, beyond chance."


def build(
    *,
    indicator: Indicator,
    area: Area,
    basis: str,
    metrics: Iterable[Metric],
    inequalities: Iterable[InequalityMetric],
    breakdowns: Sequence[str],
    wanted: dt.date | None,
) -> Report:
    """The report for `breakdowns` of one area: the groups in the wanted (else latest) period."""
    by_period: dict[dt.date, dict[tuple[str, str], PublicMetric]] = {}
    for metric in metrics:
        by_period.setdefault(metric.period_start, {})[(metric.breakdown, metric.population_group)] = public_metric(
            metric
        )
    rows = list(inequalities)
    group_periods = {p for p, cell in by_period.items() if any(b for b, _ in cell)}
    periods = sorted(group_periods | {r.period_start for r in rows})
    period_start = wanted if wanted in periods else (periods[-1] if periods else None)
    report = Report(indicator=indicator, area=area, basis=basis, periods=periods, period_start=period_start)
    if period_start is None:
        return report
    for breakdown in breakdowns:
        cell = by_period.get(period_start, {})
        groups = [
            GroupRow(code=code, label=label, metric=cell.get((breakdown, code)))
            for code, label in groups_for(breakdown, indicator.age_bands)
        ]
        history = []
        for row in rows:
            if row.breakdown != breakdown:
                continue
            published = {g: m for (b, g), m in by_period.get(row.period_start, {}).items() if b == breakdown}
            history.append(public_gap(row, published, indicator))
        gap = next((g for g in history if g.period_start == period_start), None)
        trend, reason = gap_trend(history, indicator)
        section = Section(
            breakdown=breakdown,
            label=breakdown_label(breakdown),
            all_people=cell.get(("", "")),
            groups=groups,
            gap=gap,
            history=history,
            trend=trend,
            trend_reason=reason,
        )
        section.chart = chart(section, indicator)
        report.sections.append(section)
    return report


# The chart ---------------------------------------------------------------------------------

# In viewBox units: drawn about 640 pixels wide on a desktop, half that on a phone. Each group's
# label is HTML text above its own strip (it wraps and keeps its size on a phone, where text in
# the SVG would shrink to 8 pixels and a long group's name run off the edge); the strips and the
# axis scale with the width. The axis comes twice, its labels larger on a narrow screen, one shown
# by CSS (public_health.css).
CHART_WIDTH = 640
STRIP_HEIGHT = 36
LEFT, RIGHT = 30, 610  # room for the first and last tick's label
AXIS = {"wide": {"height": 30, "font": 17, "text_y": 24}, "narrow": {"height": 50, "font": 32, "text_y": 40}}


def _nice_step(span: float) -> float:
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover - the loop ends at 10


def chart(section: Section, indicator: Indicator) -> dict[str, Any] | None:
    """The geometry of a horizontal dot chart (groups, 95% limits, the all-people line), for the template.

    Worked out here so the template only places what it is given (no macro per group). The axis
    starts at zero unless a figure is negative.
    """
    shown = [g for g in section.groups if g.shown and g.metric]
    if not shown:
        return None
    numbers = []
    for g in shown:
        m = g.metric
        assert m is not None  # noqa: S101 - shown implies a metric
        numbers += [float(v) for v in (m.value, m.lower95, m.upper95) if v is not None]
    reference = section.all_people.value if section.all_people and not section.all_people.suppressed else None
    if reference is not None:
        numbers.append(float(reference))
    low, high = min(0.0, *numbers), max(numbers)
    if high <= low:
        high = low + 1
    step = _nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if indicator.measure == Measure.PROPORTION:
        high = min(high, 100.0) if high - step < 100 else high

    def x(value: float) -> float:
        return round(LEFT + (value - low) / (high - low) * (RIGHT - LEFT), 1)

    rows = []
    cy = STRIP_HEIGHT / 2
    for g in section.groups:
        row: dict[str, Any] = {"label": g.label, "shown": g.shown}
        if g.shown and g.metric:
            m = g.metric
            shape, large = MARKERS[Comparison(g.comparison)]
            size = 9 if large else 6
            cx = x(float(m.value))  # type: ignore[arg-type]
            row.update(
                x=cx,
                value_text=m.value_text,
                comparison_text=g.comparison_text,
                fill=MARKER_FILL[MARKER_CLASS[Comparison(g.comparison)]],
                shape=shape,
                size=size,
                whisker=(x(float(m.lower95)), x(float(m.upper95)))
                if m.lower95 is not None and m.upper95 is not None
                else None,
                points=_marker_points(shape, cx, cy, size),
            )
        else:
            row["value_text"] = g.value_text
        rows.append(row)
    ticks = []
    tick = low
    while tick <= high + step / 1000:
        ticks.append({"x": x(tick), "text": format_figure(Decimal(repr(round(tick, 6))), indicator.measure)})
        tick += step
    # On a narrow screen every other tick is labelled when there are more than four: at twice the
    # size their labels would otherwise touch.
    # The end labels are set inside the axis's ends, where centred ones would be cut off.
    for t in ticks:
        t["anchor"] = "middle"
    narrow = [dict(t, text=t["text"] if len(ticks) <= 4 or k % 2 == 0 else "") for k, t in enumerate(ticks)]
    narrow[0]["anchor"], narrow[-1]["anchor"] = "start", "end"
    return {
        "width": CHART_WIDTH,
        "strip_height": STRIP_HEIGHT,
        "cy": cy,
        "left": LEFT,
        "right": RIGHT,
        "rows": rows,
        "ticks": ticks,
        "axes": [dict(AXIS["wide"], kind="wide", ticks=ticks), dict(AXIS["narrow"], kind="narrow", ticks=narrow)],
        "reference_x": x(float(reference)) if reference is not None else None,
        "reference_text": section.all_people.value_text if reference is not None and section.all_people else "",
        "from_zero": low == 0,
    }


# The chart's key: each marker as it is drawn, with its words.
def legend(indicator: Indicator) -> list[dict[str, Any]]:
    if indicator.polarity == Polarity.NO_JUDGEMENT:
        kinds = [Comparison.HIGHER, Comparison.SIMILAR, Comparison.LOWER, Comparison.NOT_COMPARED]
    else:
        kinds = [Comparison.BETTER, Comparison.SIMILAR, Comparison.WORSE, Comparison.NOT_COMPARED]
    items = []
    for kind in kinds:
        shape, _ = MARKERS[kind]
        items.append(
            {
                "shape": shape,
                "points": _marker_points(shape, 10, 10, 7),
                "fill": MARKER_FILL[MARKER_CLASS[kind]],
                "text": GROUP_COMPARISON_WORDS[kind].replace("all people", "all people in the area"),
            }
        )
    return items


def _marker_points(shape: str, cx: float, cy: float, size: int) -> str:
    if shape == "up":
        points = [(cx, cy - size), (cx + size, cy + size * 0.8), (cx - size, cy + size * 0.8)]
    elif shape == "down":
        points = [(cx, cy + size), (cx + size, cy - size * 0.8), (cx - size, cy - size * 0.8)]
    else:
        return ""
    return " ".join(f"{round(px, 1)},{round(py, 1)}" for px, py in points)


# Downloads and the API ---------------------------------------------------------------------

CSV_HEADER = [
    "indicator",
    "indicator_name",
    "area_code",
    "area_name",
    "basis",
    "breakdown",
    "period",
    "row",
    "group",
    "group_label",
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "comparison",
]


def _plain(value: Any, shown: bool = True) -> str:
    if not shown:
        return ""
    return "*" if value is None else str(value)


def csv_rows(report: Report) -> Iterable[list[Any]]:
    """The page's figures, row by row: the all-people figure, each group, then the gap measures
    (in that period) and the gap by period. A hidden figure is "*", a measure not given is blank."""
    ind, area = report.indicator, report.area
    lead = [ind.code, ind.name, area.code, area.name, report.basis]
    for s in report.sections:
        people = s.all_people
        figures: list[tuple[str, str, str, PublicMetric | None]] = [("all_people", "", "All people", people)]
        figures += [("group", g.code, g.label, g.metric) for g in s.groups]
        for kind, code, label, m in figures:
            if m is None:
                yield [*lead, s.breakdown, report.period, kind, code, label, "", "", "", "", "", "No figure"]
                continue
            yield [
                *lead,
                s.breakdown,
                report.period,
                kind,
                code,
                label,
                _plain(m.numerator, m.has_numerator),
                _plain(m.denominator, m.has_denominator),
                _plain(m.value),
                m.lower95,
                m.upper95,
                GROUP_COMPARISON_WORDS[Comparison(m.comparison)] if kind == "group" and not m.suppressed else "",
            ]
        for gap in s.history:
            yield from _gap_rows(lead, s, gap, latest=gap.period_start == report.period_start)
        yield [*lead, s.breakdown, "", "gap_trend", "", "", "", "", "", "", "", s.trend_label]


def _gap_rows(lead: list[Any], s: Section, gap: Gap, *, latest: bool) -> Iterable[list[Any]]:
    blank = ["", "", ""]
    if not gap.shown:
        yield [*lead, s.breakdown, gap.period, "gap", "", "", *blank, "", "", gap.reason]
        return
    yield [*lead, s.breakdown, gap.period, "gap", "", "Worst minus best group", *blank[:2], gap.gap, "", "", ""]
    if not latest:
        return
    yield [
        *lead,
        s.breakdown,
        gap.period,
        "best_group",
        gap.best_group,
        gap.best_label,
        "",
        "",
        gap.best_value,
        "",
        "",
        "",
    ]
    yield [
        *lead,
        s.breakdown,
        gap.period,
        "worst_group",
        gap.worst_group,
        gap.worst_label,
        "",
        "",
        gap.worst_value,
        "",
        "",
        "",
    ]
    yield [*lead, s.breakdown, gap.period, "ratio", "", "Worst divided by best group", "", "", gap.ratio, "", "", ""]
    if gap.has_sii:
        yield [
            *lead,
            s.breakdown,
            gap.period,
            "sii",
            "",
            "Slope index of inequality",
            "",
            "",
            gap.sii,
            gap.sii_lower95,
            gap.sii_upper95,
            "",
        ]
        yield [
            *lead,
            s.breakdown,
            gap.period,
            "rii",
            "",
            "Relative index of inequality",
            "",
            "",
            gap.rii,
            gap.rii_lower95,
            gap.rii_upper95,
            "",
        ]


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def gap_document(gap: Gap | None) -> dict[str, Any] | None:
    if gap is None:
        return None
    return {
        "period": gap.period,
        "shown": gap.shown,
        "reason": gap.reason or None,
        "groups_compared": gap.groups_compared,
        "best_group": gap.best_group or None,
        "best_value": _number(gap.best_value),
        "worst_group": gap.worst_group or None,
        "worst_value": _number(gap.worst_value),
        "gap": _number(gap.gap),
        "ratio": _number(gap.ratio),
        "sii": _number(gap.sii),
        "sii_lower95": _number(gap.sii_lower95),
        "sii_upper95": _number(gap.sii_upper95),
        "rii": _number(gap.rii),
        "rii_lower95": _number(gap.rii_lower95),
        "rii_upper95": _number(gap.rii_upper95),
    }


def _figure_document(m: PublicMetric | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "numerator": m.numerator if m.has_numerator else None,
        "denominator": m.denominator if m.has_denominator else None,
        "value": _number(m.value),
        "lower95": _number(m.lower95),
        "upper95": _number(m.upper95),
        "suppressed": m.suppressed,
    }


def document(report: Report) -> dict[str, Any]:
    """The machine-readable report (the API, and the page's JSON download): hidden figures are null."""
    sections = []
    for s in report.sections:
        groups = []
        for g in s.groups:
            figure = _figure_document(g.metric)
            groups.append(
                {
                    "group": g.code,
                    "label": g.label,
                    "has_figure": g.metric is not None,
                    **(figure or _figure_document_empty()),
                    "comparison": g.comparison if g.metric is not None else None,
                    "comparison_label": g.comparison_text,
                }
            )
        sections.append(
            {
                "breakdown": s.breakdown,
                "label": s.label,
                "all_people": _figure_document(s.all_people),
                "groups": groups,
                "gap": gap_document(s.gap),
                "gap_by_period": [gap_document(g) for g in s.history],
                "gap_trend": s.trend,
                "gap_trend_label": s.trend_label,
                "gap_trend_reason": s.trend_reason,
            }
        )
    return {
        "indicator": report.indicator.code,
        "indicator_name": report.indicator.name,
        "measure": report.indicator.measure,
        "polarity": report.indicator.polarity,
        "area": report.area.code,
        "area_name": report.area.name,
        "area_level": report.area.level,
        "basis": report.basis,
        "provisional": report.basis == Metric.Basis.PROVISIONAL,
        "period": report.period or None,
        "periods": [report.indicator.period_label(p) for p in report.periods],
        "computed_at": report.computed_at,
        "breakdowns": sections,
    }


def _figure_document_empty() -> dict[str, Any]:
    return dict.fromkeys(("numerator", "denominator", "value", "lower95", "upper95"), None) | {"suppressed": False}


def best_word(indicator: Indicator) -> tuple[str, str]:
    """What the best and worst group are called: by polarity, or highest and lowest with no judgement."""
    if indicator.polarity == Polarity.NO_JUDGEMENT:
        return "Highest", "Lowest"
    return "Best", "Worst"
