"""The public-health view: borough profile as a spine chart, compare areas, trend.

Public pages (as the dashboards are: outcomes.permissions): everyone sees the approved,
disclosure-controlled figures (outcomes.dashboards.public_metrics); partners may ask for
provisional ones (outcomes.permissions.figures_basis). No figure here is ever unsuppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from kernel import downloads
from outcomes import dashboards, permissions
from outcomes import selectors as outcome_selectors
from outcomes.breakdowns import group_label
from outcomes.dashboards import PublicMetric
from outcomes.models import Indicator, Measure
from outcomes.public_health import charts, selectors
from outcomes.public_health.forms import TrendForm
from outcomes.statistics import COMPARISON_LABELS, Comparison, is_comparable
from stakeholders.models import AreaLevel

LEVELS = {AreaLevel.BOROUGH: "Boroughs", AreaLevel.SUB_REGION: "ICS sub-regions"}
SPINE_LEGEND = [Comparison.BETTER, Comparison.SIMILAR, Comparison.WORSE, Comparison.HIGHER, Comparison.LOWER]


def _basis(request: HttpRequest) -> str:
    return permissions.figures_basis(request.user, request.GET.get("basis", ""))


def _csv(name: str, header: list[str], rows: Any) -> HttpResponse:
    response = HttpResponse(downloads.csv_text(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _format(request: HttpRequest) -> str:
    fmt = request.GET.get("format", "")
    if fmt not in ("", "csv"):
        raise BadRequest("This page downloads as format=csv only.")
    return fmt


def _text(value: Decimal | None, measure: str) -> str:
    return "" if value is None else dashboards.format_figure(value, measure)


# Borough profile: spine chart ---------------------------------------------------------------


@dataclass(frozen=True)
class SpineRow:
    indicator: Indicator
    area: PublicMetric | None
    london: PublicMetric | None
    spread: charts.Spread | None
    svg: str

    @property
    def measure(self) -> str:
        return self.indicator.measure

    @property
    def comparable(self) -> bool:
        return is_comparable(self.indicator.measure)

    def text(self, value: Decimal | None) -> str:
        return _text(value, self.measure)

    @property
    def comparison_text(self) -> str:
        if self.area is None:
            return "No data"
        if self.area.suppressed:
            return "Suppressed"
        if not self.comparable:
            return "Not compared"
        shape, _fill = charts.SHAPES.get(self.area.comparison, charts.SHAPES["not_compared"])
        return f"{self.area.comparison_label} ({charts.SHAPE_WORDS[shape]})"


def _spine_rows(indicators: list[Indicator], data: dict[str, Any], area: Any) -> list[SpineRow]:
    ours: dict[int, PublicMetric] = {}
    london: dict[int, PublicMetric] = {}
    for metric, row in zip(data["metrics"], dashboards.public_metrics(data["metrics"]), strict=True):
        (london if row.area_level == AreaLevel.LONDON else ours)[metric.indicator_id] = row
    published: dict[int, list[Decimal]] = {}
    for metric, row in zip(data["boroughs"], dashboards.public_metrics(data["boroughs"]), strict=True):
        if row.value is not None:
            published.setdefault(metric.indicator_id, []).append(row.value)
    result = []
    for indicator in indicators:
        mine, ldn = ours.get(indicator.pk), london.get(indicator.pk)
        spread = None
        svg = ""
        if is_comparable(indicator.measure) and ldn is not None and ldn.value is not None:
            spread = charts.spread(published.get(indicator.pk, []), indicator.measure)
        if spread is not None and ldn is not None and ldn.value is not None:
            value = mine.value if mine else None
            label = (
                f"{indicator.name}: {area.name} {mine.value_text if mine else 'no data'}"
                f"{', ' + mine.comparison_label.lower() if mine and not mine.suppressed else ''}; "
                f"London {ldn.value_text}; boroughs from {_text(spread.lowest, indicator.measure)} to "
                f"{_text(spread.highest, indicator.measure)}, middle half {_text(spread.q1, indicator.measure)} to "
                f"{_text(spread.q3, indicator.measure)}."
            )
            svg = charts.spine_svg(
                value=value,
                london=ldn.value,
                spread=spread,
                comparison=mine.comparison if mine else "not_compared",
                polarity=indicator.polarity,
                label=label,
            )
        result.append(SpineRow(indicator=indicator, area=mine, london=ldn, spread=spread, svg=svg))
    return result


SPINE_CSV_HEADER = [
    "indicator",
    "indicator_name",
    "period",
    "area_code",
    "area_name",
    "value",
    "london_value",
    "borough_lowest",
    "borough_q1",
    "borough_q3",
    "borough_highest",
    "boroughs_published",
    "comparison",
]


@require_GET
def area_profile(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, _basis(request))
    return dashboards.cached_page(
        request,
        "spine",
        audience,
        lambda: _area_profile(request, code, audience),
        "outcomes/public_health/profile.html",
        dashboards.SPINE_PARAMETERS,
    )


def _area_profile(request: HttpRequest, code: str, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    basis = audience.basis
    fmt = _format(request)
    area = outcome_selectors.dashboard_area(code=code).first()
    if area is None:
        raise Http404("There is no such area.")
    indicators = list(outcome_selectors.active_indicators())
    rows = _spine_rows(indicators, selectors.spine_profile(area=area, basis=basis), area)
    if fmt == "csv":
        return _csv(
            f"spine-{area.code}-{basis}",
            SPINE_CSV_HEADER,
            (
                [
                    r.indicator.code,
                    r.indicator.name,
                    (r.london or r.area).period if (r.london or r.area) else "",
                    area.code,
                    area.name,
                    r.area.value_text if r.area else "",
                    r.london.value_text if r.london else "",
                    *(
                        [r.spread.lowest, r.spread.q1, r.spread.q3, r.spread.highest, r.spread.boroughs]
                        if r.spread
                        else [""] * 5
                    ),
                    r.comparison_text,
                ]
                for r in rows
            ),
        )
    legend = [
        (c, COMPARISON_LABELS[c].removesuffix(" than London").removesuffix(" to London"), charts.legend_marker(c))
        for c in SPINE_LEGEND
    ]
    return dashboards.Page(
        "outcomes/public_health/_profile_body.html",
        {
            "area": area,
            "basis": basis,
            "rows": rows,
            "legend": legend,
            "not_compared_marker": charts.legend_marker("not_compared"),
            "form": dashboards.dashboard_form(initial={"basis": basis}, provisional=audience.basis_choice),
            "computed_at": max((r.london.computed_at for r in rows if r.london), default=None),
        },
        {"area": area},
    )


# Compare areas -----------------------------------------------------------------------------------

COMPARE_CSV_HEADER = [
    "indicator",
    "period",
    "basis",
    "rank",
    "area_code",
    "area_name",
    "area_level",
    "value",
    "lower95",
    "upper95",
    "comparison",
    "shown",
]


def _compare_csv_row(
    indicator: Indicator,
    period: str,
    basis: str,
    row: PublicMetric,
    *,
    rank: int | str = "",
    limits: bool = True,
    comparison: str = "",
    shown: str,
) -> list[Any]:
    """One row of the compare download, in COMPARE_CSV_HEADER's order: London's line, a bar, or an
    area not shown (whose limits are left out)."""
    return [
        indicator.code,
        period,
        basis,
        rank,
        row.area_code,
        row.area_name,
        row.area_level,
        row.value_text,
        row.lower95 if limits else "",
        row.upper95 if limits else "",
        comparison,
        shown,
    ]


@require_GET
def indicator_compare(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, _basis(request))
    return dashboards.cached_page(
        request,
        "compare",
        audience,
        lambda: _indicator_compare(request, code, audience),
        "outcomes/public_health/compare.html",
        dashboards.COMPARE_PARAMETERS,
    )


def _indicator_compare(
    request: HttpRequest, code: str, audience: dashboards.Audience
) -> HttpResponse | dashboards.Page:
    basis = audience.basis
    fmt = _format(request)
    indicator = selectors.indicator(code=code)
    if indicator is None:
        raise Http404("There is no such indicator.")
    level = request.GET.get("level", "") or AreaLevel.BOROUGH
    if level not in LEVELS:
        raise BadRequest("level is borough or sub_region.")
    periods = selectors.periods(indicator=indicator, basis=basis)
    asked = request.GET.get("period", "")
    wanted = indicator.parse_period(asked) if asked else None
    period_start = wanted if wanted in periods else (periods[-1] if periods else None)
    metrics = (
        list(selectors.compare_cell(indicator=indicator, period_start=period_start, basis=basis, level=level))
        if period_start
        else []
    )
    rows = dashboards.public_metrics(metrics)
    london = next((r for r in rows if r.area_level == AreaLevel.LONDON), None)
    areas = [r for r in rows if r.area_level == level]
    shown = sorted((r for r in areas if r.value is not None), key=lambda r: (-r.value, r.area_name))
    if indicator.polarity == "lower":
        shown = sorted((r for r in areas if r.value is not None), key=lambda r: (r.value, r.area_name))
    hidden = sorted((r for r in areas if r.value is None), key=lambda r: r.area_name)
    period = indicator.period_label(period_start) if period_start else ""
    comparable = is_comparable(indicator.measure)
    if fmt == "csv":
        return _csv(
            f"compare-{indicator.code}-{level}-{period}-{basis}",
            COMPARE_CSV_HEADER,
            [
                *(
                    _compare_csv_row(indicator, period, basis, london, shown="line")
                    for london in ([london] if london and comparable else [])
                ),
                *(
                    _compare_csv_row(
                        indicator,
                        period,
                        basis,
                        r,
                        rank=i,
                        comparison=r.comparison_label if comparable else "Not compared",
                        shown="bar",
                    )
                    for i, r in enumerate(shown, 1)
                ),
                *(
                    _compare_csv_row(indicator, period, basis, r, limits=False, shown="not shown (suppressed)")
                    for r in hidden
                ),
            ],
        )
    svg = ""
    if shown:
        label = (
            f"Bar chart of {indicator.name}, {period}, {LEVELS[level].lower()} from "
            f"{'lowest' if indicator.polarity == 'lower' else 'highest'}: "
            + "; ".join(f"{r.area_name} {r.value_text}" for r in shown)
            + (f". London {london.value_text}." if london and comparable and london.value is not None else ".")
        )
        svg = charts.bars_svg(
            bars=[charts.Bar(r.area_name, r.value, r.lower95, r.upper95) for r in shown],
            london=london.value if london and comparable else None,
            measure=indicator.measure,
            label=label,
        )
    form = dashboards.dashboard_form(
        periods=[indicator.period_label(p) for p in reversed(periods)],
        initial={"period": period, "basis": basis},
        provisional=audience.basis_choice,
    )
    return dashboards.Page(
        "outcomes/public_health/_compare_body.html",
        {
            "form": form,
            "indicator": indicator,
            "level": level,
            "levels": LEVELS,
            "basis": basis,
            "period": period,
            "period_missing": bool(asked) and wanted not in periods,
            "asked_period": asked,
            "london": london,
            "shown": shown,
            "hidden": hidden,
            "svg": svg,
            "comparable": comparable,
            "computed_at": max((r.computed_at for r in rows), default=None),
        },
        {"indicator": indicator},
    )


# Trend -------------------------------------------------------------------------------------------

TREND_CSV_HEADER = [
    "indicator",
    "series",
    "area_code",
    "breakdown",
    "group",
    "period",
    "basis",
    "value",
    "lower95",
    "upper95",
    "suppressed",
]


@require_GET
def indicator_trend(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, _basis(request))
    return dashboards.cached_page(
        request,
        "trend",
        audience,
        lambda: _indicator_trend(request, code, audience),
        "outcomes/public_health/trend.html",
        dashboards.TREND_PARAMETERS,
    )


def _indicator_trend(request: HttpRequest, code: str, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    basis = audience.basis
    fmt = _format(request)
    indicator = selectors.indicator(code=code)
    if indicator is None:
        raise Http404("There is no such indicator.")
    areas = list(selectors.trend_areas())
    form = TrendForm(
        request.GET or None,
        areas=areas,
        indicator=indicator,
        provisional=audience.basis_choice,
    )
    valid = form.is_valid() if form.is_bound else True
    chosen_codes = form.cleaned_data.get("area", []) if form.is_bound and valid else []
    chosen_groups = form.cleaned_data.get("group", []) if form.is_bound and valid else []
    if not valid and fmt:
        raise BadRequest("; ".join(str(e) for errors in form.errors.values() for e in errors))
    chosen_areas = [a for a in areas if a.code in chosen_codes]
    groups = [tuple(g.split(":", 1)) for g in chosen_groups]
    metrics = list(selectors.trend_series(indicator=indicator, basis=basis, areas=chosen_areas, groups=groups))
    rows = dashboards.public_metrics(metrics)
    # Series: London, then the areas and groups in the order chosen.
    # A count is one series alone (TrendForm): the chosen area's or group's, else London's total.
    alone = indicator.measure == Measure.COUNT and (chosen_areas or groups)
    keys: list[tuple[str, str, str]] = [] if alone else [("LONDON", "", "")]
    names = {("LONDON", "", ""): "London"}
    for a in chosen_areas:
        keys.append((a.code, "", ""))
        names[(a.code, "", "")] = a.name
    for breakdown, group in groups:
        keys.append(("LONDON", breakdown, group))
        names[("LONDON", breakdown, group)] = f"London: {group_label(breakdown, group)}"
    by_key: dict[tuple[str, str, str], dict[str, PublicMetric]] = {k: {} for k in keys}
    period_starts: dict[str, Any] = {}
    for metric, row in zip(metrics, rows, strict=True):
        key = (
            "LONDON" if row.area_level == AreaLevel.LONDON else row.area_code,
            metric.breakdown,
            metric.population_group,
        )
        if key in by_key:
            by_key[key][row.period] = row
            period_starts[row.period] = row.period_start
    periods = sorted(period_starts, key=lambda p: period_starts[p])
    series = [{"key": k, "name": names[k], "rows": by_key[k], "index": i} for i, k in enumerate(keys)]
    if fmt == "csv":
        return _csv(
            f"trend-{indicator.code}-{basis}",
            TREND_CSV_HEADER,
            (
                [
                    indicator.code,
                    s["name"],
                    s["rows"][p].area_code,
                    s["key"][1],
                    s["key"][2],
                    p,
                    basis,
                    s["rows"][p].value_text,
                    s["rows"][p].lower95,
                    s["rows"][p].upper95,
                    s["rows"][p].suppressed,
                ]
                for s in series
                for p in periods
                if p in s["rows"]
            ),
        )
    lines = [charts.Line(s["name"], [s["rows"][p].value if p in s["rows"] else None for p in periods]) for s in series]
    ticks, from_zero = charts.line_axis(lines, indicator.measure)
    svg = ""
    if periods:
        svg = charts.lines_svg(
            periods=periods,
            lines=lines,
            measure=indicator.measure,
            label=f"Line chart of {indicator.name} by period for {', '.join(s['name'] for s in series)}."
            f"{'' if from_zero else ' The axis does not start at zero.'} The table below gives the same figures.",
        )
    for s in series:
        s["marker"] = charts.series_marker(s["index"])
    return dashboards.Page(
        "outcomes/public_health/_trend_body.html",
        {
            "form": form,
            "indicator": indicator,
            "basis": basis,
            "series": series,
            "periods": periods,
            "svg": svg,
            "from_zero": from_zero,
            "axis_from": _text(Decimal(repr(ticks[0])), indicator.measure) if ticks else "",
            "computed_at": max((r.computed_at for r in rows), default=None),
        },
        {"indicator": indicator, "errors": not valid},
        status=200 if valid else 400,
    )
