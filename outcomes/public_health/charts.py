"""Server-rendered SVG charts for the public-health pages: spine chart, compare bars, trend lines.

Every chart is an <svg> with a viewBox and width 100%, so it scales to any screen (no sideways
scroll at 320 px); every chart has a text alternative (aria-label) and the page a table with the
same figures. Comparisons are told by shape as well as colour (SHAPES), and in words.

The spread of a spine chart (docs/statistics.md, "Spine chart"): lowest, 25th percentile, 75th
percentile and highest of the published borough values, the percentiles by linear interpolation
between closest ranks (Excel's PERCENTILE.INC, numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from outcomes.dashboards import format_figure, round_value

INK = "#212b32"
# Comparison -> (shape, fill). Better is a circle, similar a diamond, worse a square, higher or
# lower (no judgement) a triangle pointing that way, not compared a hollow circle.
SHAPES: dict[str, tuple[str, str]] = {
    "much_better": ("circle", "#08519c"),
    "better": ("circle", "#9ecae1"),
    "similar": ("diamond", "#ffb81c"),
    "worse": ("square", "#fdb863"),
    "much_worse": ("square", "#a6530a"),
    "much_higher": ("up", "#54278f"),
    "higher": ("up", "#b2abd2"),
    "lower": ("down", "#a6dba0"),
    "much_lower": ("down", "#1b7837"),
    "not_compared": ("circle", "#ffffff"),
}
SHAPE_WORDS = {
    "circle": "circle",
    "diamond": "diamond",
    "square": "square",
    "up": "triangle up",
    "down": "triangle down",
}
# Trend series: London first; colour and marker both differ from one series to the next.
SERIES_STYLES = [
    ("#212b32", "square"),
    ("#005eb8", "circle"),
    ("#a6530a", "diamond"),
    ("#1b7837", "up"),
    ("#54278f", "down"),
]


def marker(shape: str, x: float, y: float, size: float, fill: str, stroke: str = INK) -> str:
    """One marker of a shape centred on (x, y), as SVG markup (numbers only: nothing to escape)."""
    s = size
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" {common}/>'
    if shape == "square":
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}" {common}/>'
    if shape == "diamond":
        k = s * 1.3
        points = f"{x:.1f},{y - k:.1f} {x + k:.1f},{y:.1f} {x:.1f},{y + k:.1f} {x - k:.1f},{y:.1f}"
    elif shape == "up":
        k = s * 1.3
        points = f"{x:.1f},{y - k:.1f} {x + k:.1f},{y + k * 0.8:.1f} {x - k:.1f},{y + k * 0.8:.1f}"
    else:  # down
        k = s * 1.3
        points = f"{x:.1f},{y + k:.1f} {x + k:.1f},{y - k * 0.8:.1f} {x - k:.1f},{y - k * 0.8:.1f}"
    return f'<polygon points="{points}" {common}/>'


def svg_text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "middle", fill: str = INK) -> str:
    """A <text> element, its text escaped."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )


def svg_line(x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = "") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'


def legend_marker(comparison: str) -> SafeString:
    """A small SVG of a comparison's marker, for the legend beside its words (decorative)."""
    shape, fill = SHAPES.get(comparison, SHAPES["not_compared"])
    return mark_safe(  # noqa: S308 - numbers and fixed colours only
        '<svg class="lmh-ph-key" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">'
        + marker(shape, 12, 12, 7, fill)
        + "</svg>"
    )


def series_marker(index: int) -> SafeString:
    colour, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
    return mark_safe(  # noqa: S308 - numbers and fixed colours only
        '<svg class="lmh-ph-key" viewBox="0 0 36 24" width="36" height="24" aria-hidden="true" focusable="false">'
        f'<line x1="2" y1="12" x2="34" y2="12" stroke="{colour}" stroke-width="3"/>'
        + marker(shape, 18, 12, 6, colour, colour)
        + "</svg>"
    )


# Spread and spine chart ------------------------------------------------------------------


def percentile(ordered: Sequence[Decimal], fraction: float) -> Decimal:
    """Linear interpolation between closest ranks (PERCENTILE.INC) of sorted values."""
    position = (len(ordered) - 1) * Decimal(repr(fraction))
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class Spread:
    """London's spread across boroughs: of the published (rounded, unsuppressed) borough values."""

    lowest: Decimal
    q1: Decimal
    q3: Decimal
    highest: Decimal
    boroughs: int


MIN_BOROUGHS_FOR_SPREAD = 3


def spread(values: Sequence[Decimal], measure: str) -> Spread | None:
    """The spread of published borough values, each rounded as shown; None below 3 boroughs."""
    ordered = sorted(values)
    if len(ordered) < MIN_BOROUGHS_FOR_SPREAD:
        return None
    return Spread(
        lowest=ordered[0],
        q1=round_value(percentile(ordered, 0.25), measure),
        q3=round_value(percentile(ordered, 0.75), measure),
        highest=ordered[-1],
        boroughs=len(ordered),
    )


SPINE_WIDTH, SPINE_HEIGHT, SPINE_MARGIN = 600, 40, 14


def spine_svg(
    *,
    value: Decimal | None,
    london: Decimal,
    spread: Spread,
    comparison: str,
    polarity: str,
    label: str,
) -> SafeString:
    """One indicator's spine: the borough spread (lowest-highest light, quartiles dark) centred on
    London's value, with the area's marker; better to the right where the indicator has a polarity."""
    centre = SPINE_WIDTH / 2
    half = centre - SPINE_MARGIN
    ends = [spread.lowest, spread.highest] + ([value] if value is not None else [])
    extent = max(abs(v - london) for v in ends) or Decimal(1)
    sign = -1 if polarity == "lower" else 1

    def x(v: Decimal) -> float:
        return centre + sign * float((v - london) / extent) * half

    def band(low: Decimal, high: Decimal, fill: str, y: float, h: float) -> str:
        a, b = sorted((x(low), x(high)))
        return f'<rect x="{a:.1f}" y="{y}" width="{max(b - a, 1):.1f}" height="{h}" fill="{fill}"/>'

    parts = [
        band(spread.lowest, spread.highest, "#d8dde0", 10, 20),
        band(spread.q1, spread.q3, "#768692", 10, 20),
        f'<line x1="{centre}" y1="2" x2="{centre}" y2="{SPINE_HEIGHT - 2}" stroke="#d5281b" stroke-width="3"/>',
    ]
    if value is not None:
        shape, fill = SHAPES.get(comparison, SHAPES["not_compared"])
        parts.append(marker(shape, x(value), 20, 7, fill))
    return format_html(
        '<svg class="lmh-ph-svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}</svg>',
        SPINE_WIDTH,
        SPINE_HEIGHT,
        label,
        mark_safe("".join(parts)),  # noqa: S308 - numbers and fixed colours only
    )


# Axes --------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (about `count` of them)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for k in (1, 2, 2.5, 5, 10):
        if raw <= k * step:
            step *= k
            break
    start = math.floor(low / step) * step
    ticks = []
    t = start
    while t < high + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _number(v: float, measure: str) -> str:
    return format_figure(Decimal(repr(v)).normalize() if v == int(v) else Decimal(repr(round(v, 2))), measure)


# Compare areas: sorted bars with whiskers ------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    name: str
    value: Decimal
    lower: Decimal | None
    upper: Decimal | None


BAR_WIDTH, BAR_ROW, BAR_LABEL, BAR_TOP = 640, 22, 190, 34


def bars_svg(*, bars: Sequence[Bar], london: Decimal | None, measure: str, label: str) -> SafeString:
    """Horizontal bars from zero in the given order, 95% limits as whiskers, London as a dashed line."""
    highest = max([float(b.upper if b.upper is not None else b.value) for b in bars] + [float(london or 0)] + [0.0])
    ticks = nice_ticks(0, highest or 1)
    top = ticks[-1] or 1
    plot = BAR_WIDTH - BAR_LABEL - 20
    height = BAR_TOP + BAR_ROW * len(bars) + 10

    def x(v: float) -> float:
        return BAR_LABEL + v / top * plot

    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{BAR_TOP - 6}" x2="{x(t):.1f}" y2="{height - 10}"'
            ' stroke="#d8dde0"/>'
            f'<text x="{x(t):.1f}" y="{BAR_TOP - 10}" font-size="11" text-anchor="middle"'
            f' fill="{INK}">'
            f"{escape(_number(t, measure))}</text>"
        )
    for i, b in enumerate(bars):
        y = BAR_TOP + i * BAR_ROW
        parts.append(
            svg_text(BAR_LABEL - 6, y + 15, b.name, anchor="end")
            + f'<rect x="{BAR_LABEL}" y="{y + 4}" width="{max(x(float(b.value)) - BAR_LABEL, 0):.1f}"'
            f' height="{BAR_ROW - 8}" fill="#005eb8"/>'
        )
        if b.lower is not None and b.upper is not None:
            lo, hi, mid = x(float(b.lower)), x(float(b.upper)), y + BAR_ROW / 2
            parts.append(
                f'<path d="M{lo:.1f} {mid - 5:.1f}V{mid + 5:.1f}M{lo:.1f} {mid:.1f}H{hi:.1f}'
                f'M{hi:.1f} {mid - 5:.1f}V{mid + 5:.1f}"'
                f' stroke="{INK}" stroke-width="1.5" fill="none"/>'
            )
    if london is not None:
        lx = x(float(london))
        parts.append(
            svg_line(lx, BAR_TOP - 4, lx, height - 6, "#d5281b", ' stroke-width="2" stroke-dasharray="6 3"')
            + svg_text(lx, 12, f"London {format_figure(london, measure)}", size=11, fill="#d5281b")
        )
    return format_html(
        '<svg class="lmh-ph-svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}</svg>',
        BAR_WIDTH,
        height,
        label,
        mark_safe("".join(parts)),  # noqa: S308 - escaped above
    )


# Trend: lines over periods ----------------------------------------------------------------------

LINE_WIDTH, LINE_HEIGHT, LINE_LEFT, LINE_BOTTOM, LINE_TOP = 640, 300, 64, 40, 16


@dataclass(frozen=True)
class Line:
    name: str
    values: Sequence[Decimal | None]  # one per period, None where there is no published figure


def line_axis(lines: Sequence[Line], measure: str) -> tuple[list[float], bool]:
    """The y ticks and whether the axis starts at zero: always for proportions, rates and counts;
    a mean's axis may start above zero (and the page says so)."""
    values = [float(v) for line in lines for v in line.values if v is not None]
    if not values:
        return [0.0, 1.0], True
    low, high = min(values), max(values)
    if measure == "mean" and low > 0 and (high - low) < low / 2:
        ticks = nice_ticks(low - (high - low) * 0.1, high)
        return ticks, ticks[0] == 0
    return nice_ticks(0, high), True


def lines_svg(*, periods: Sequence[str], lines: Sequence[Line], measure: str, label: str) -> SafeString:
    ticks, _from_zero = line_axis(lines, measure)
    bottom, top = ticks[0], ticks[-1]
    plot_w = LINE_WIDTH - LINE_LEFT - 16
    plot_h = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    n = max(len(periods), 1)

    def x(i: int) -> float:
        return LINE_LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return LINE_TOP + plot_h * (1 - (v - bottom) / ((top - bottom) or 1))

    parts = []
    for t in ticks:
        parts.append(
            svg_line(LINE_LEFT, y(t), LINE_WIDTH - 16, y(t), "#d8dde0")
            + svg_text(LINE_LEFT - 6, y(t) + 4, _number(t, measure), anchor="end")
        )
    every = max(1, math.ceil(n / 8))
    for i, p in enumerate(periods):
        if i % every == 0 or i == n - 1:
            parts.append(svg_text(x(i), LINE_HEIGHT - LINE_BOTTOM + 18, p))
    parts.append(svg_line(LINE_LEFT, LINE_HEIGHT - LINE_BOTTOM, LINE_WIDTH - 16, LINE_HEIGHT - LINE_BOTTOM, INK))
    for index, line in enumerate(lines):
        colour, shape = SERIES_STYLES[index % len(SERIES_STYLES)]
        path, pen = [], "M"
        for i, v in enumerate(line.values):
            if v is None:
                pen = "M"  # a gap where there is no published figure
                continue
            path.append(f"{pen}{x(i):.1f} {y(float(v)):.1f}")
            pen = "L"
        if path:
            parts.append(f'<path d="{"".join(path)}" stroke="{colour}" stroke-width="2.5" fill="none"/>')
        for i, v in enumerate(line.values):
            if v is not None:
                parts.append(marker(shape, x(i), y(float(v)), 4.5, colour, colour))
    return format_html(
        '<svg class="lmh-ph-svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}</svg>',
        LINE_WIDTH,
        LINE_HEIGHT,
        label,
        mark_safe("".join(parts)),  # noqa: S308 - escaped above
    )
