"""Disclosure-controlled presentation of metrics: what the dashboards, downloads and API show.

`Metric` rows hold unsuppressed figures. Every public output goes through `public_metrics`,
which applies the rules of docs/statistics.md:

- counts (numerators, denominators, and the value of a count indicator) below 5 are shown as
  "*", others are rounded to the nearest 5, London's included;
- values and limits of suppressed rows are hidden, and so are their comparison and quintile;
- values are rounded to the places the pages show (one for percentages and rates, two for
  means); the aggregation computes rates and percentages, their limits, comparisons, quintiles
  and trends from the published (rounded) counts, so that none says more than the counts do;
- a count indicator's confidence limits are not published: they are a function of the exact
  count, so they would undo its rounding;
- a mean's numerator (a sum of scores) is not published: with the mean it gives the exact
  number of people.

Commissioners see their own boroughs unsuppressed (`unsuppressed_area_ids`); those rows are
flagged `not_for_publication` and every page, download and API answer that carries one says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.core.cache import cache
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from markupsafe import Markup

from kernel.cache import code_version
from kernel.numbers import MEASURE_PLACES, format_in_unit, format_number
from outcomes import permissions
from outcomes.aggregation.generation import metrics_generation
from outcomes.models import Measure, Metric
from outcomes.statistics import (
    COMPARISON_LABELS,
    NOT_COMPARED_REASON,
    Comparison,
    disclose_count,
    figures,
    is_comparable,
)
from stakeholders.models import AreaLevel

# Decimal places a value is shown (and published) with, by measure.
PLACES = {Measure(m): places for m, places in MEASURE_PLACES.items()}

# One or two words for a tile of the map; the table says it in full (COMPARISON_LABELS).
COMPARISON_WORDS = {
    Comparison.MUCH_BETTER: "Much better",
    Comparison.BETTER: "Better",
    Comparison.SIMILAR: "Similar",
    Comparison.WORSE: "Worse",
    Comparison.MUCH_WORSE: "Much worse",
    Comparison.HIGHER: "Higher",
    Comparison.LOWER: "Lower",
    Comparison.MUCH_HIGHER: "Much higher",
    Comparison.MUCH_LOWER: "Much lower",
    Comparison.NOT_COMPARED: "Not compared",
}
# Best first, for sorting by comparison and for the legend.
COMPARISON_ORDER = [
    Comparison.MUCH_BETTER,
    Comparison.BETTER,
    Comparison.MUCH_HIGHER,
    Comparison.HIGHER,
    Comparison.SIMILAR,
    Comparison.LOWER,
    Comparison.MUCH_LOWER,
    Comparison.WORSE,
    Comparison.MUCH_WORSE,
    Comparison.NOT_COMPARED,
]
JUDGED_LEGEND = [
    Comparison.MUCH_BETTER,
    Comparison.BETTER,
    Comparison.SIMILAR,
    Comparison.WORSE,
    Comparison.MUCH_WORSE,
    Comparison.NOT_COMPARED,
]
UNJUDGED_LEGEND = [
    Comparison.MUCH_HIGHER,
    Comparison.HIGHER,
    Comparison.SIMILAR,
    Comparison.LOWER,
    Comparison.MUCH_LOWER,
    Comparison.NOT_COMPARED,
]


def legend(indicator: Any) -> list[Comparison]:
    """The map's key: a count is never compared, an indicator with no judgement is higher or lower."""
    if not is_comparable(indicator.measure):
        return [Comparison.NOT_COMPARED]
    return JUDGED_LEGEND if indicator.polarity != "none" else UNJUDGED_LEGEND


SUPPRESSED_TEXT = "*"
NOT_FOR_PUBLICATION = "Not for publication"

# Trend over the last five periods (outcomes.aggregation.incremental.trend_sql), said through the polarity.
TRENDS = ("increasing", "decreasing", "no_change")


def trend_label(trend: str, polarity: str) -> str:
    """ "Increasing and getting better", "Decreasing", "No significant change" or "" (not calculated)."""
    if trend == "no_change":
        return "No significant change"
    if trend not in ("increasing", "decreasing"):
        return ""
    word = trend.capitalize()
    if polarity == "none":
        return word
    better = (trend == "increasing") == (polarity == "higher")
    return f"{word} and getting {'better' if better else 'worse'}"


def round_value(value: Decimal | None, measure: str) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-PLACES[Measure(measure)]), rounding=ROUND_HALF_UP)


def format_figure(value: Decimal | int | None, measure: str) -> str:
    """A published figure as the pages write it: 52.3%, 1,234.5, 12.35, 1,235 (kernel.numbers)."""
    return format_in_unit(value, measure)


def _count(value: Decimal | int | None) -> int | None:
    return None if value is None else int(Decimal(value).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PublicMetric:
    """One metric as it may be shown: None means hidden (suppressed, or not applicable)."""

    indicator_code: str
    indicator_name: str
    measure: str
    area_id: int
    area_code: str
    area_name: str
    area_short_code: str
    area_level: str
    period_start: dt.date
    period: str
    basis: str
    numerator: int | Decimal | None
    denominator: int | None
    value: Decimal | None
    lower95: Decimal | None
    upper95: Decimal | None
    lower998: Decimal | None
    upper998: Decimal | None
    suppressed: bool
    comparison: str
    quintile: int | None
    providers: int
    computed_at: dt.datetime
    not_for_publication: bool
    trend: str = ""
    polarity: str = "none"

    @property
    def trend_label(self) -> str:
        return trend_label(self.trend, self.polarity)

    @property
    def provisional(self) -> bool:
        return self.basis == Metric.Basis.PROVISIONAL

    @property
    def has_numerator(self) -> bool:
        return self.measure != Measure.MEAN

    @property
    def has_denominator(self) -> bool:
        return self.measure in (Measure.PROPORTION, Measure.MEAN)

    @property
    def numerator_text(self) -> str:
        if not self.has_numerator:
            return ""
        return SUPPRESSED_TEXT if self.numerator is None else format_number(self.numerator)

    @property
    def denominator_text(self) -> str:
        if not self.has_denominator:
            return ""
        return SUPPRESSED_TEXT if self.denominator is None else format_number(self.denominator)

    @property
    def value_text(self) -> str:
        return SUPPRESSED_TEXT if self.value is None else format_figure(self.value, self.measure)

    @property
    def limits_text(self) -> str:
        if self.lower95 is None or self.upper95 is None:
            return ""
        return f"{format_figure(self.lower95, self.measure)} to {format_figure(self.upper95, self.measure)}"

    @property
    def comparable(self) -> bool:
        """False for a count: never compared with London nor ranked (docs/statistics.md)."""
        return is_comparable(self.measure)

    @property
    def not_compared_reason(self) -> str:
        return NOT_COMPARED_REASON.get(self.measure, "")

    @property
    def comparison_label(self) -> str:
        return COMPARISON_LABELS.get(Comparison(self.comparison), "Not compared")

    @property
    def comparison_word(self) -> str:
        if self.suppressed:
            return SUPPRESSED_TEXT
        return COMPARISON_WORDS.get(Comparison(self.comparison), "Not compared")

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable row (JSON downloads and the API): numbers, None when hidden."""
        return {
            "indicator": self.indicator_code,
            "indicator_name": self.indicator_name,
            "area": self.area_code,
            "area_name": self.area_name,
            "area_level": self.area_level,
            "period": self.period,
            "period_start": self.period_start,
            "basis": self.basis,
            "provisional": self.provisional,
            "numerator": self.numerator if self.has_numerator else None,
            "denominator": self.denominator if self.has_denominator else None,
            "value": self.value,
            "lower95": self.lower95,
            "upper95": self.upper95,
            "lower998": self.lower998,
            "upper998": self.upper998,
            "suppressed": self.suppressed,
            "comparison": self.comparison,
            "comparison_label": self.comparison_label,
            "quintile": self.quintile,
            "trend": self.trend or None,
            "trend_label": self.trend_label,
            "providers": self.providers,
            "not_for_publication": self.not_for_publication,
            "computed_at": self.computed_at,
        }


def _exact_figures(metric: Metric, measure: str) -> tuple[Decimal | None, list[Decimal | None]]:
    """A row's value and limits from its exact counts (the stored ones are the published figures')."""
    if metric.value is None:
        return None, [None] * 4
    value, low95, low998 = figures(
        measure,
        float(metric.numerator),
        None if metric.denominator is None else float(metric.denominator),
        metric.population,
    )
    if value is None:
        return None, [None] * 4
    shown = round_value(Decimal(repr(value)), measure)
    limits = [*(low95 or (None, None)), *(low998 or (None, None))]
    return shown, [None if v is None else round_value(Decimal(repr(v)), measure) for v in limits]


def public_metric(metric: Metric, *, exact: bool = False) -> PublicMetric:
    """One metric row under disclosure control; `exact` shows it unsuppressed (not for publication).

    Needs `metric.indicator` and `metric.area` loaded (select_related).
    """
    indicator, area = metric.indicator, metric.area
    measure = indicator.measure
    exact = exact and area.level == AreaLevel.BOROUGH
    if exact:
        numerator = metric.numerator if measure == Measure.MEAN else _count(metric.numerator)
        denominator = metric.denominator
        hidden = False
    elif metric.secondary_suppressed:
        # A total that would reveal a suppressed borough by subtraction: hidden, with its value.
        numerator = denominator = None
        hidden = True
    else:
        numerator = None if measure == Measure.MEAN else disclose_count(_count(metric.numerator)).value
        denominator = disclose_count(metric.denominator).value
        hidden = metric.suppressed
    if measure == Measure.COUNT and not exact:
        # The value of a count is the count: rounded like one, and its limits would undo that.
        value = None if hidden or numerator is None else Decimal(numerator)
        limits: list[Decimal | None] = [None] * 4
    elif exact:
        # The stored figures are computed from the published counts; these are the exact ones.
        value, limits = _exact_figures(metric, measure)
    else:
        value = None if hidden else round_value(metric.value, measure)
        raw = [metric.lower95, metric.upper95, metric.lower998, metric.upper998]
        limits = [None if hidden else round_value(limit, measure) for limit in raw]
    suppressed = hidden or (value is None and metric.value is not None)
    return PublicMetric(
        indicator_code=indicator.code,
        indicator_name=indicator.name,
        measure=measure,
        area_id=area.pk,
        area_code=area.code,
        area_name=area.name,
        area_short_code=area.short_code,
        area_level=area.level,
        period_start=metric.period_start,
        period=indicator.period_label(metric.period_start),
        basis=metric.basis_shown,
        numerator=numerator,
        denominator=denominator if measure in (Measure.PROPORTION, Measure.MEAN) else None,
        value=value,
        lower95=limits[0],
        upper95=limits[1],
        lower998=limits[2],
        upper998=limits[3],
        suppressed=suppressed,
        # A count is never compared nor ranked; the aggregation stores it so, and a row stored
        # before that rule (or by any other path) is shown so too.
        comparison=Comparison.NOT_COMPARED if suppressed or not is_comparable(measure) else metric.comparison,
        quintile=None if suppressed or not is_comparable(measure) else metric.quintile,
        providers=metric.providers,
        computed_at=metric.computed_at,
        not_for_publication=exact,
        trend="" if suppressed else metric.trend,
        polarity=indicator.polarity,
    )


def public_metrics(metrics: Iterable[Metric], *, unsuppressed_area_ids: Collection[int] = ()) -> list[PublicMetric]:
    """Metric rows into public rows; boroughs in `unsuppressed_area_ids` unsuppressed and flagged."""
    return [public_metric(m, exact=m.area_id in unsuppressed_area_ids) for m in metrics]


# Sorting the overview table ------------------------------------------------------------

SORT_KEYS = ("area", "value", "comparison", "quintile")


def sort_rows(rows: Sequence[PublicMetric], sort: str) -> list[PublicMetric]:
    """Rows sorted by area, value, comparison or quintile ("-" first for descending); hidden values last."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        key, descending = "area", False

    def field(row: PublicMetric) -> Any:
        if key == "value":
            return row.value
        if key == "comparison":
            return None if row.suppressed else COMPARISON_ORDER.index(Comparison(row.comparison))
        if key == "quintile":
            return row.quintile
        return row.area_name

    present = sorted((r for r in rows if field(r) is not None), key=lambda r: (field(r), r.area_name))
    if descending:
        present.reverse()
    missing = sorted((r for r in rows if field(r) is None), key=lambda r: r.area_name)
    return present + missing


# Downloads -------------------------------------------------------------------------------

# CSV and JSON text for every download: kernel.downloads.


# The overview's rows as a download: the same cells the tables show, with "*" for a hidden count.
OVERVIEW_CSV_HEADER = [
    "indicator",
    "indicator_name",
    "period",
    "basis",
    "area_code",
    "area_name",
    "area_level",
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "comparison",
    "quintile",
    "trend",
    "not_for_publication",
    "computed_at",
]


def _plain(value: Decimal | int | None, shown: bool = True) -> str:
    if not shown:
        return ""
    return SUPPRESSED_TEXT if value is None else str(value)


def overview_csv_rows(rows: Iterable[PublicMetric]) -> Iterable[list[Any]]:
    for r in rows:
        yield [
            r.indicator_code,
            r.indicator_name,
            r.period,
            r.basis,
            r.area_code,
            r.area_name,
            r.area_level,
            _plain(r.numerator, r.has_numerator),
            _plain(r.denominator, r.has_denominator),
            _plain(r.value),
            r.lower95,
            r.upper95,
            r.comparison_label,
            r.quintile,
            r.trend_label,
            r.not_for_publication,
            r.computed_at,
        ]


def overview_json_row(row: PublicMetric) -> dict[str, Any]:
    data = row.as_dict()
    for name in ("indicator", "indicator_name", "period", "basis", "provisional", "lower998", "upper998"):
        data.pop(name)
    return data


def trend_json_row(row: PublicMetric) -> dict[str, Any]:
    """A trend page's row: as the overview's, with its period (the trend runs over periods)."""
    data = row.as_dict()
    for name in ("indicator", "indicator_name", "basis", "provisional"):
        data.pop(name)
    return data


# Borough (or ICS) profile ----------------------------------------------------------------


def public_range(low: Decimal | None, high: Decimal | None, measure: str) -> tuple[Decimal | int | None, ...]:
    """The range of unsuppressed borough values as published (counts rounded to 5)."""
    if low is None or high is None:
        return (None, None)
    if measure == Measure.COUNT:
        return (disclose_count(_count(low)).value, disclose_count(_count(high)).value)
    return (round_value(low, measure), round_value(high, measure))


@dataclass(frozen=True)
class ProfileRow:
    indicator: Any  # outcomes.models.Indicator
    area: PublicMetric | None
    london: PublicMetric | None
    range_low: Decimal | int | None
    range_high: Decimal | int | None

    @property
    def period(self) -> str:
        row = self.area or self.london
        return row.period if row else ""

    @property
    def comparable(self) -> bool:
        return is_comparable(self.indicator.measure)

    @property
    def not_compared_reason(self) -> str:
        return NOT_COMPARED_REASON.get(self.indicator.measure, "")

    @property
    def range_text(self) -> str:
        if self.range_low is None or self.range_high is None:
            return ""
        measure = self.indicator.measure
        return f"{format_figure(self.range_low, measure)} to {format_figure(self.range_high, measure)}"


def profile_rows(indicators: Iterable[Any], metrics: Iterable[Metric], ranges: dict[int, tuple]) -> list[ProfileRow]:
    """One row per indicator: the area's and London's public figures in its latest period, and the range."""
    area_rows: dict[str, PublicMetric] = {}
    london_rows: dict[str, PublicMetric] = {}
    for row in public_metrics(metrics):
        (london_rows if row.area_level == AreaLevel.LONDON else area_rows)[row.indicator_code] = row
    result = []
    for indicator in indicators:
        # No range for a count: boroughs differ in size, so their counts do not place an area
        # (and a sub-region's count would always lie above the boroughs' range).
        found = ranges.get(indicator.pk, (None, None)) if is_comparable(indicator.measure) else (None, None)
        low, high = public_range(*found, indicator.measure)
        result.append(
            ProfileRow(
                indicator=indicator,
                area=area_rows.get(indicator.code),
                london=london_rows.get(indicator.code),
                range_low=low,
                range_high=high,
            )
        )
    return result


PROFILE_CSV_HEADER = [
    "indicator",
    "indicator_name",
    "period",
    "basis",
    "area_code",
    "area_name",
    "value",
    "lower95",
    "upper95",
    "london_value",
    "borough_range_low",
    "borough_range_high",
    "comparison",
    "quintile",
    "trend",
    "computed_at",
]


def profile_csv_rows(rows: Iterable[ProfileRow], area: Any, basis: str) -> Iterable[list[Any]]:
    for r in rows:
        a, ldn = r.area, r.london
        yield [
            r.indicator.code,
            r.indicator.name,
            r.period,
            basis,
            area.code,
            area.name,
            _plain(a.value) if a else "",
            a.lower95 if a else None,
            a.upper95 if a else None,
            _plain(ldn.value) if ldn else "",
            r.range_low,
            r.range_high,
            a.comparison_label if a else "",
            a.quintile if a else None,
            a.trend_label if a else "",
            a.computed_at if a else None,
        ]


def profile_json_row(r: ProfileRow) -> dict[str, Any]:
    a, ldn = r.area, r.london
    return {
        "indicator": r.indicator.code,
        "indicator_name": r.indicator.name,
        "period": r.period,
        "value": a.value if a else None,
        "lower95": a.lower95 if a else None,
        "upper95": a.upper95 if a else None,
        "suppressed": a.suppressed if a else None,
        "london_value": ldn.value if ldn else None,
        "borough_range_low": r.range_low,
        "borough_range_high": r.range_high,
        "comparison": a.comparison if a else None,
        "comparison_label": a.comparison_label if a else None,
        "quintile": a.quintile if a else None,
        "trend": (a.trend or None) if a else None,
        "trend_label": a.trend_label if a else "",
        "computed_at": a.computed_at if a else None,
    }


# Chart data (indicator page) -------------------------------------------------------------


def chart_series(rows: Sequence[PublicMetric], labels: Sequence[str]) -> dict[str, list[float | None]]:
    """One area's values and 95% limits aligned to `labels` (None where there is no figure)."""
    by_period = {r.period: r for r in rows}

    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "value": [number(by_period[p].value) if p in by_period else None for p in labels],
        "lower": [number(by_period[p].lower95) if p in by_period else None for p in labels],
        "upper": [number(by_period[p].upper95) if p in by_period else None for p in labels],
    }


# Forms -----------------------------------------------------------------------------------


def dashboard_form(
    *,
    indicators: Sequence[Any] = (),
    periods: Sequence[str] = (),
    areas: Sequence[Any] = (),
    initial: dict,
    provisional: bool = False,
) -> Any:
    """The GET form of a dashboard: indicator, period, area and basis, as far as the page uses them.

    The basis (approved or provisional) is a choice only for those who may see provisional
    figures (outcomes.permissions.may_see_provisional).
    """
    fields: dict[str, forms.Field] = {}
    if indicators:
        fields["indicator"] = forms.ChoiceField(label="Indicator", choices=[(i.code, i.name) for i in indicators])
    if periods:
        fields["period"] = forms.ChoiceField(label="Period", choices=[(p, p) for p in periods], required=False)
    if areas:
        fields["area"] = forms.ChoiceField(
            label="Compare with",
            choices=[("", "London only"), *((a.code, a.name) for a in areas)],
            required=False,
        )
    if provisional:
        fields["basis"] = forms.ChoiceField(
            label="Figures",
            choices=Metric.Basis.choices,
            widget=forms.RadioSelect,
            required=False,
        )
    form_class = type("DashboardForm", (forms.Form,), fields)
    return form_class(initial=initial)


# Rendered pages, cached per audience ------------------------------------------------------

# The query parameters a dashboard page reads (`format` asks for a download, which is never
# cached). A page asked with any other one is rendered but not cached, so made-up parameters
# cannot fill the cache with copies of a page. The overview, indicator and area dashboards read
# PAGE_PARAMETERS; the public-health pages and the inequalities page read their own sets.
PAGE_PARAMETERS = frozenset({"indicator", "period", "sort", "basis", "area"})
SPINE_PARAMETERS = frozenset({"basis"})
COMPARE_PARAMETERS = frozenset({"level", "period", "basis"})
TREND_PARAMETERS = frozenset({"area", "group", "basis"})
INEQUALITIES_PARAMETERS = frozenset({"area", "breakdown", "period", "basis"})
# Cached pages live until their cells are recomputed (the generation moves on); the timeout only
# bounds how long an abandoned generation's entries linger in Redis.
PAGE_CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Audience:
    """Everything besides the query that decides what a dashboard's content shows a person.

    `basis` is the figures' basis they are shown (permissions.figures_basis), `basis_choice`
    whether they are offered the approved/provisional choice, and `unsuppressed` the boroughs
    they see unsuppressed (permissions.commissioned_boroughs, only where the page shows them).
    Two people with the same audience see the same content, whoever they are: no name, CSRF
    token or CSP nonce is in a cached body (the page shell around it renders per request).
    """

    basis: str
    basis_choice: bool
    unsuppressed: tuple[int, ...] = ()


def audience(request: Any, basis: str, unsuppressed: Iterable[int] = ()) -> Audience:
    """The audience of a request shown figures of `basis` and the boroughs `unsuppressed` so."""
    return Audience(
        basis=str(basis),  # the plain value: the cache key is made from its repr
        basis_choice=permissions.may_see_provisional(request.user),
        unsuppressed=tuple(sorted(unsuppressed)),
    )


@dataclass
class Page:
    """A dashboard page as its view builds it: the body's template and context, the shell's context."""

    body_template: str
    context: dict[str, Any]
    shell: dict[str, Any]
    private: bool = False  # unsuppressed figures: never in a shared (browser or proxy) cache
    status: int = 200  # a form the query filled wrongly (400) is cached with its errors, as any query


def page_cache_key(
    request: Any, kind: str, audience: Audience, parameters: frozenset[str] = PAGE_PARAMETERS
) -> str | None:
    """The Redis key of a dashboard's rendered body for this query and audience, or None (not cached)."""
    if not set(request.GET) <= parameters:
        return None
    parts = (request.path, sorted(request.GET.lists()), audience)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"dashboards:{metrics_generation()}:{code_version()}:page:{kind}:{digest}"


def cached_page(
    request: Any,
    kind: str,
    audience: Audience,
    build: Callable[[], Any],
    template: str,
    parameters: frozenset[str] = PAGE_PARAMETERS,
) -> Any:
    """A dashboard page whose body is rendered once per query and audience until the metrics change.

    `build()` returns a Page, or a response as it is (a download); it runs only when the body is
    not cached, and an exception it raises (a 404) is not cached. The shell (`template`, which
    puts `body` in its main content) renders on every request, with its own CSP nonce, header
    and sign-in state.
    """
    key = page_cache_key(request, kind, audience)
    cached = cache.get(key) if key else None
    if cached is None:
        page = build()
        if not isinstance(page, Page):
            return page
        body = render_to_string(page.body_template, page.context, request=request)
        cached = {"body": body, "shell": page.shell, "private": page.private, "status": page.status}
        if key:
            cache.set(key, cached, PAGE_CACHE_SECONDS)
    context = {"nav": "dashboards", **cached["shell"], "body": Markup(cached["body"])}  # noqa: S704 - rendered by an autoescaping template
    response = render(request, template, context, status=cached.get("status", 200))
    if cached["private"]:
        patch_cache_control(response, private=True, no_store=True)
    return response
