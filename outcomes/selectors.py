"""Reads for the outcomes pages: catalogue, submissions, values and populations, scoped to the user."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet

from kernel import numbers
from outcomes import permissions
from outcomes.breakdowns import Breakdown, breakdown_label, group_label, groups_for, parse_age_band
from outcomes.models import (
    Indicator,
    Measure,
    Metric,
    OutcomeValue,
    Population,
    PriorityArea,
    Submission,
    SubmissionIssue,
    ValueStatus,
    basis_sql,
    previous_period,
)
from outcomes.periods import latest_complete_period, parse_any_period
from stakeholders.models import COMMISSIONER_TYPES, Area, AreaLevel, Membership, Organisation, Role

AnyUser = permissions.AnyUser

# Values waiting for a commissioner: the review queue's default filter.
AWAITING_REVIEW = (ValueStatus.SUBMITTED, ValueStatus.QUERIED)
# A value is judged unusual only against at least this many of the provider's other values.
OUTLIER_MIN_HISTORY = 4


# Header navigation ---------------------------------------------------------------------


def nav_flags(user: AnyUser) -> dict[str, bool]:
    """Which role links the header shows: one query per request, none for anonymous visitors.

    "Review data" matches permissions.can_review (a commissioner in a commissioning
    organisation that serves at least one borough); "Submit data" matches can_submit;
    "Moderation" matches actionplan.voice.permissions.can_moderate (a moderator role
    anywhere, or a superuser), read in the same query so the header costs no more.
    """
    if not user.is_authenticated:
        return {"submit": False, "review": False, "moderate": False}
    cached = getattr(user, "_lmh_outcomes_nav", None)
    if cached is None:
        roles = set(
            Membership.objects.filter(
                Q(role__in=[Role.DATA_SUBMITTER, Role.MODERATOR])
                | Q(
                    role=Role.COMMISSIONER,
                    organisation__type__in=list(COMMISSIONER_TYPES),
                    organisation__boroughs__isnull=False,
                ),
                user=user,
            )
            .order_by()  # no default ordering: it would join organisation and user into the DISTINCT
            .values_list("role", flat=True)
            .distinct()
        )
        cached = {
            "submit": Role.DATA_SUBMITTER in roles,
            "review": Role.COMMISSIONER in roles,
            "moderate": user.is_active and (user.is_superuser or Role.MODERATOR in roles),
        }
        user._lmh_outcomes_nav = cached  # type: ignore[union-attr]
    return cached


def format_number(value: Decimal | int | None) -> str:
    """A stored figure as a person would type it (form inputs): 1250 rather than 1250.0000 or 1.25E+3."""
    return numbers.format_number(value, grouping=False)


def value_figure(value: OutcomeValue) -> str:
    """The figure a value stands for where it needs no population: 75.0% for 45 of 60, a mean score."""
    measure = value.indicator.measure
    if measure == Measure.PROPORTION and value.denominator:
        return numbers.format_in_unit(100 * value.numerator / value.denominator, measure)
    if measure == Measure.MEAN and value.denominator:
        return numbers.format_in_unit(value.numerator / value.denominator, measure)
    return numbers.format_number(value.numerator)


# Catalogue ------------------------------------------------------------------------------


def indicator_list(*, q: str = "", measure: str = "", period_type: str = "") -> QuerySet[Indicator]:
    qs = Indicator.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(definition__icontains=q))
    if measure:
        qs = qs.filter(measure=measure)
    if period_type:
        qs = qs.filter(period_type=period_type)
    return qs.order_by("-is_active", "name")


def indicator_detail(*, code: str, with_priority_areas: bool = False) -> QuerySet[Indicator]:
    indicators = Indicator.objects.filter(code=code)
    if with_priority_areas:  # the catalogue page names them; the dashboards do not
        indicators = indicators.prefetch_related(
            Prefetch("priority_areas", queryset=PriorityArea.objects.order_by("ordering", "name"))
        )
    return indicators


def active_indicators() -> QuerySet[Indicator]:
    return Indicator.objects.filter(is_active=True).order_by("name")


def indicators_by_priority_area(indicators: list[Indicator]) -> list[tuple[PriorityArea | None, list[Indicator]]]:
    """The indicators grouped under the priority areas in use (one query), in the areas' order.

    An indicator in two areas is listed under both; those in none come last under None.
    """
    by_id = {i.pk: i for i in indicators}
    links = (
        PriorityArea.indicators.through.objects.filter(priorityarea__is_active=True, indicator_id__in=by_id)
        .select_related("priorityarea")
        .order_by("priorityarea__ordering", "priorityarea__name")
    )
    groups: dict[int, tuple[PriorityArea, list[Indicator]]] = {}
    grouped: set[int] = set()
    for link in links:
        groups.setdefault(link.priorityarea_id, (link.priorityarea, []))[1].append(by_id[link.indicator_id])
        grouped.add(link.indicator_id)
    result: list[tuple[PriorityArea | None, list[Indicator]]] = [
        (area, sorted(inds, key=lambda i: i.name)) for area, inds in groups.values()
    ]
    rest = [i for i in indicators if i.pk not in grouped]
    if rest:
        result.append((None, rest))
    return result


# Submissions ----------------------------------------------------------------------------


def submission_list(*, user: AnyUser) -> QuerySet[Submission]:
    return (
        permissions.visible_submissions(user)
        .select_related("organisation", "submitted_by")
        .order_by("-created_at", "-pk")
    )


def submission_issues(*, submission: Submission, severity: str) -> QuerySet[SubmissionIssue]:
    return submission.issues.filter(severity=severity).order_by("row_number", "pk")


# The web form names its indicator, period and boroughs in row order, so a report can say
# "row 3: Islington" and link back to the same grid.
_FORM_FILENAME = re.compile(r"^Web form: (\S+) (.+?) \(rows: ([A-Z]{3}(?:, [A-Z]{3})*)\)$")


def form_submission_filename(indicator: Indicator, period: str, short_codes: list[str], group: str = "") -> str:
    """What a web-form submission records as its 'file name': indicator, period, the population
    group when not all people, and row order."""
    for_group = f", {group}" if group else ""
    return f"Web form: {indicator.code} {period}{for_group} (rows: {', '.join(short_codes)})"[:255]


def form_row_boroughs(submission: Submission) -> dict[int, Area]:
    """Row number -> borough for a web-form submission (empty for files and API posts)."""
    match = _FORM_FILENAME.search(submission.filename or "")
    if not match:
        return {}
    codes = match.group(3).split(", ")
    areas = {a.short_code: a for a in Area.objects.filter(short_code__in=codes)}
    # Rows are numbered as the form showed them: the first borough is row 1.
    return {number: areas[code] for number, code in enumerate(codes, start=1) if code in areas}


def submitted_as(trial: Submission) -> Submission | None:
    """The submission that saved a trial run's file (the one-button submit), if any."""
    return Submission.objects.filter(trial_of=trial).only("pk", "status", "created_at").first()


def form_submission_choice(submission: Submission) -> dict[str, str]:
    """The web form's step-1 choice (organisation, indicator, period) that made a submission."""
    match = _FORM_FILENAME.search(submission.filename or "")
    if not match:
        return {}
    return {"organisation": str(submission.organisation_id), "indicator": match.group(1), "period": match.group(2)}


# Values ---------------------------------------------------------------------------------


def outcome_value_list(
    base: QuerySet[OutcomeValue],
    *,
    indicator: Indicator | None = None,
    borough: Area | None = None,
    period: str = "",
    statuses: list[str] | tuple[str, ...] = (),
) -> QuerySet[OutcomeValue]:
    """Filter a permission-scoped queryset of values, with everything a table row shows."""
    qs = base.select_related("indicator", "borough", "organisation", "reviewed_by", "reviewed_for")
    if indicator is not None:
        qs = qs.filter(indicator=indicator)
    if borough is not None:
        qs = qs.filter(borough=borough)
    if period:
        parsed = parse_any_period(period)
        if parsed is None:
            return qs.none()
        qs = qs.filter(period_start=parsed[1], indicator__period_type=parsed[0])
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return qs.order_by("-period_start", "indicator__name", "borough__name", "organisation__name", "pk")


# What a reviewer sees beside each value: the same provider's previous period, London's figure
# on the same scale, and whether the value is unusual for that provider and borough (the same
# test as the import's outlier warning, outcomes.ingest._outlier_warnings, against the
# provider's other stored values for the indicator and borough).
REVIEW_CONTEXT_SQL = f"""
WITH page AS (
    SELECT v.id, v.organisation_id, v.indicator_id, v.borough_id, v.period_start, p.prev_start,
           v.breakdown, v.population_group,
           CASE WHEN v.denominator IS NULL THEN v.numerator::float8
                ELSE v.numerator::float8 / v.denominator END AS x
    FROM unnest(%(ids)s::bigint[], %(prev)s::date[]) AS p(id, prev_start)
    JOIN outcomes_outcomevalue v ON v.id = p.id
)
SELECT p.id, prev.numerator, prev.denominator, prev.status,
       lon.numerator, lon.denominator, st.n, st.mean, st.sd, st.median, md.mad
FROM page p
LEFT JOIN outcomes_outcomevalue prev
       ON prev.organisation_id = p.organisation_id AND prev.indicator_id = p.indicator_id
      AND prev.borough_id = p.borough_id AND prev.period_start = p.prev_start
      AND prev.breakdown = p.breakdown AND prev.population_group = p.population_group
LEFT JOIN LATERAL (
    SELECT m.numerator, m.denominator
    FROM outcomes_metric m JOIN stakeholders_area a ON a.id = m.area_id AND a.level = 'london'
    WHERE m.indicator_id = p.indicator_id AND m.period_start = p.period_start AND {basis_sql("m", "basis")}
      AND m.breakdown = p.breakdown AND m.population_group = p.population_group
    LIMIT 1
) lon ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS n, avg(h.x) AS mean, stddev_samp(h.x) AS sd,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY h.x) AS median
    FROM (SELECT CASE WHEN o.denominator IS NULL THEN o.numerator::float8
                      ELSE o.numerator::float8 / o.denominator END AS x
          FROM outcomes_outcomevalue o
          WHERE o.organisation_id = p.organisation_id AND o.indicator_id = p.indicator_id
            AND o.borough_id = p.borough_id AND o.id <> p.id
            AND o.breakdown = p.breakdown AND o.population_group = p.population_group) h
) st ON true
LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(o.x - st.median)) AS mad
    FROM (SELECT CASE WHEN o.denominator IS NULL THEN o.numerator::float8
                      ELSE o.numerator::float8 / o.denominator END AS x
          FROM outcomes_outcomevalue o
          WHERE o.organisation_id = p.organisation_id AND o.indicator_id = p.indicator_id
            AND o.borough_id = p.borough_id AND o.id <> p.id
            AND o.breakdown = p.breakdown AND o.population_group = p.population_group) o
    WHERE st.n >= {OUTLIER_MIN_HISTORY}
) md ON true
"""  # noqa: S608 - module constants only; the ids are parameters


@dataclass(frozen=True)
class ReviewContext:
    previous_period: str
    previous: str  # the provider's figure for the previous period, "" if it sent none
    previous_status: str
    london: str  # London's figure (including submitted values) where it is on the value's scale
    usual: str  # the provider's usual (median) figure for this indicator and borough
    unusual: bool


def _unit_figure(numerator: Any, denominator: Any, measure: str) -> str:
    if measure == Measure.PROPORTION:
        return numbers.format_in_unit(100 * Decimal(numerator) / denominator, measure) if denominator else ""
    if measure == Measure.MEAN:
        return numbers.format_in_unit(Decimal(numerator) / denominator, measure) if denominator else ""
    return numbers.format_number(numerator)


def review_context(values: list[OutcomeValue]) -> dict[int, ReviewContext]:
    """The context of each value on a review page, in one query (values need their indicator loaded).

    London's figure is shown only for proportions and means: a provider's count or rate events
    in one borough is not on London's scale (docs/statistics.md). Unusual: |z| > 3 or modified
    z > 3.5 against at least four of the provider's other values for the indicator and borough.
    """
    if not values:
        return {}
    by_id = {v.pk: v for v in values}
    prev = {v.pk: previous_period(v.indicator.period_type, v.period_start) for v in values}
    with connection.cursor() as cursor:
        cursor.execute(
            REVIEW_CONTEXT_SQL,
            {"ids": list(prev), "prev": list(prev.values()), "basis": Metric.Basis.PROVISIONAL},
        )
        rows = cursor.fetchall()
    labels = dict(ValueStatus.choices)
    context = {}
    for pk, prev_num, prev_den, prev_status, lon_num, lon_den, n, mean, sd, median, mad in rows:
        value = by_id[pk]
        measure = value.indicator.measure
        x = float(value.numerator) / value.denominator if value.denominator else float(value.numerator)
        unusual = bool(
            n
            and n >= OUTLIER_MIN_HISTORY
            and ((sd and abs(x - mean) / sd > 3) or (mad and 0.6745 * abs(x - median) / mad > 3.5))
        )
        usual = ""
        if n and n >= OUTLIER_MIN_HISTORY and median is not None:
            usual = numbers.format_in_unit(
                Decimal(str(median)) * (100 if measure == Measure.PROPORTION else 1), measure
            )
        context[pk] = ReviewContext(
            previous_period=value.indicator.period_label(prev[pk]),
            previous=_unit_figure(prev_num, prev_den, measure) if prev_num is not None else "",
            previous_status=labels.get(prev_status, "") if prev_status else "",
            london=(
                _unit_figure(lon_num, lon_den, measure)
                if lon_num is not None and measure in (Measure.PROPORTION, Measure.MEAN)
                else ""
            ),
            usual=usual,
            unusual=unusual,
        )
    return context


def provider_values(*, user: AnyUser) -> QuerySet[OutcomeValue]:
    """The values of the organisations this user submits for."""
    return permissions.visible_values(user).filter(
        organisation__in=permissions.submitting_organisations(user).values("pk")
    )


def grid_values(
    *,
    organisation: Organisation,
    indicator: Indicator,
    period_start: dt.date,
    breakdown: str = "",
    group: str = "",
) -> tuple[dict[int, OutcomeValue], dict[int, OutcomeValue]]:
    """This period's and the previous period's values by borough id, in one query, for all
    people (the default) or one population group."""
    previous = previous_period(indicator.period_type, period_start)
    current: dict[int, OutcomeValue] = {}
    before: dict[int, OutcomeValue] = {}
    for value in OutcomeValue.objects.filter(
        organisation=organisation,
        indicator=indicator,
        period_start__in=[period_start, previous],
        breakdown=breakdown,
        population_group=group,
    ):
        (current if value.period_start == period_start else before)[value.borough_id] = value
    return current, before


def organisation_boroughs(*, organisation: Organisation) -> QuerySet[Area]:
    return organisation.boroughs.order_by("name")


def boroughs_for_values(*, user: AnyUser) -> QuerySet[Area]:
    """Boroughs served by the organisations this user submits for (the values page filter)."""
    return (
        Area.objects.filter(organisations__in=permissions.submitting_organisations(user).values("pk"))
        .distinct()
        .order_by("name")
    )


def boroughs_for_review(*, user: AnyUser) -> QuerySet[Area]:
    return permissions.commissioned_boroughs(user).order_by("name")


# Populations ----------------------------------------------------------------------------


def population_table() -> dict[str, Any]:
    """Populations as rows of areas and columns of years."""
    everything = list(Population.objects.select_related("area").order_by("area__level", "area__name", "year"))
    populations = [p for p in everything if not p.breakdown]
    groups = [p for p in everything if p.breakdown]
    years = sorted({p.year for p in populations})
    rows: dict[int, dict[str, Any]] = {}
    for p in populations:
        row = rows.setdefault(p.area_id, {"area": p.area, "by_year": {}})
        row["by_year"][p.year] = p
    # Populations by group: one table per breakdown, areas by groups, for its latest year.
    by_group: dict[str, dict[str, Any]] = {}
    for p in groups:
        table = by_group.setdefault(p.breakdown, {"breakdown": p.breakdown, "year": 0, "items": []})
        table["year"] = max(table["year"], p.year)
        table["items"].append(p)
    group_tables = []
    for breakdown in sorted(by_group, key=lambda b: list(Breakdown.values).index(b) if b in Breakdown.values else 9):
        table = by_group[breakdown]
        latest = [p for p in table["items"] if p.year == table["year"]]
        codes = sorted({p.population_group for p in latest}, key=_group_order(breakdown))
        area_rows: dict[int, dict[str, Any]] = {}
        for p in latest:
            area_rows.setdefault(p.area_id, {"area": p.area, "by_group": {}})["by_group"][p.population_group] = p
        group_tables.append(
            {
                "breakdown": breakdown,
                "label": breakdown_label(breakdown),
                "year": table["year"],
                "groups": [(code, group_label(breakdown, code)) for code in codes],
                "rows": list(area_rows.values()),
            }
        )
    return {
        "years": years,
        "rows": list(rows.values()),
        "count": len(populations) + len(groups),
        "any_uploaded": any(p.source == "upload" for p in populations),
        "group_tables": group_tables,
    }


def _group_order(breakdown: str) -> Any:
    fixed = [code for code, _ in groups_for(breakdown)]

    def key(code: str) -> tuple[int, int, str]:
        if code in fixed:
            return (0, fixed.index(code), code)
        band = parse_age_band(code)
        return (1, band[0] if band else 999, code)

    return key


# Submitting -----------------------------------------------------------------------------


def hub_organisations(*, user: AnyUser) -> QuerySet[Organisation]:
    """The organisations this user submits for, with how many boroughs each serves."""
    return (
        Organisation.objects.filter(pk__in=permissions.submitting_organisations(user).values("pk"))
        .annotate(borough_count=Count("boroughs"))
        .order_by("name")
    )


def template_rows(*, organisation: Organisation, indicators: list[Indicator], today: dt.date) -> list[list[str]]:
    """A CSV template ready to fill in: for each indicator, one row per borough the organisation
    serves (in name order) for its latest period that has ended (the latest one open for
    submission), with the numerator and denominator left empty. One query, however many.

    Each row ends with the breakdown and group: blank for all people; an indicator that accepts
    breakdowns has, after each borough's all-people row, a row for every group."""
    codes = list(organisation.boroughs.filter(level=AreaLevel.BOROUGH).order_by("name").values_list("code", flat=True))
    rows = []
    for indicator in indicators:
        period = indicator.period_label(latest_complete_period(indicator.period_type, today))
        groups = [("", "")] + [
            (breakdown, group)
            for breakdown in indicator.breakdowns
            for group, _ in groups_for(breakdown, indicator.age_bands)
        ]
        rows += [[indicator.code, code, period, "", "", "", b, g] for code in codes for b, g in groups]
    return rows


# Dashboards -----------------------------------------------------------------------------
# Public dashboards read only Metric; disclosure control is applied by outcomes.dashboards.


def london_series(*, indicator: Indicator, basis: str) -> QuerySet[Metric]:
    """London's metric for every period of an indicator, oldest first (also: which periods have figures)."""
    return (
        Metric.objects.of_basis(basis)
        .filter(indicator=indicator, area__level=AreaLevel.LONDON)
        .select_related("indicator", "area")
        .order_by("period_start")
    )


def cell_metrics(*, indicator: Indicator, period_start: dt.date, basis: str) -> QuerySet[Metric]:
    """Every area's metric (London, sub-regions, boroughs) for one indicator and period."""
    return (
        Metric.objects.of_basis(basis)
        .filter(indicator=indicator, period_start=period_start)
        .select_related("indicator", "area")
    )


def area_series(*, indicator: Indicator, basis: str, area: Area | None) -> QuerySet[Metric]:
    """London's metrics and (when given) one other area's, for every period of an indicator, oldest first."""
    areas = Q(area__level=AreaLevel.LONDON)
    if area is not None:
        areas |= Q(area=area)
    return (
        Metric.objects.of_basis(basis)
        .filter(areas, indicator=indicator)
        .select_related("indicator", "area")
        .order_by("period_start", "area__level")
    )


def tile_boroughs() -> QuerySet[Area]:
    return Area.objects.boroughs().order_by("tile_row", "tile_col")


def dashboard_areas() -> QuerySet[Area]:
    """Areas a dashboard can be about: the sub-regions and the boroughs, sub-regions first."""
    return Area.objects.exclude(level=AreaLevel.LONDON).order_by("-level", "name")


def dashboard_area(*, code: str) -> QuerySet[Area]:
    return Area.objects.exclude(level=AreaLevel.LONDON).filter(code=code.strip().upper())


def latest_cells(*, basis: str) -> tuple[dict[int, dt.date], Q]:
    """Each active indicator's latest period with a London figure ({indicator id: period start}),
    and a filter for Metric rows in those cells (one query). With no figure at all, the filter
    is empty: callers return before using it."""
    latest = dict(
        Metric.objects.of_basis(basis)
        .filter(area__level=AreaLevel.LONDON, indicator__is_active=True)
        .order_by()
        .values_list("indicator_id")
        .annotate(latest=Max("period_start"))
    )
    cells = Q()
    for indicator_id, period_start in latest.items():
        cells |= Q(indicator_id=indicator_id, period_start=period_start)
    return latest, cells


def area_profile(*, area: Area, basis: str) -> dict[str, Any]:
    """Each indicator's latest period with figures, its metrics for the area and London, and the
    range of unsuppressed borough values in that period. Three queries whatever the data size."""
    latest, cells = latest_cells(basis=basis)
    if not latest:
        return {"latest": {}, "metrics": [], "ranges": {}}
    metrics = list(
        Metric.objects.of_basis(basis)
        .filter(cells)
        .filter(Q(area=area) | Q(area__level=AreaLevel.LONDON))
        .select_related("indicator", "area")
    )
    ranges = {
        row["indicator_id"]: (row["low"], row["high"])
        for row in Metric.objects.of_basis(basis)
        .filter(cells, area__level=AreaLevel.BOROUGH, suppressed=False, value__isnull=False)
        .order_by()
        .values("indicator_id")
        .annotate(low=Min("value"), high=Max("value"))
    }
    return {"latest": latest, "metrics": metrics, "ranges": ranges}
