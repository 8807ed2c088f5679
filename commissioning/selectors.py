"""Reads for partnerships, the contract register, contract performance and the overview.

Contract performance is computed over the contract's boroughs from the borough metrics
(`outcomes.Metric`, approved basis): numerators, denominators and populations are summed
across the boroughs first and the value is computed from the sums, never by averaging
borough rates. The sums for every measure of a page come from one set-based SQL query
(`measure_series`); values and 95% limits then come from outcomes.statistics (Wilson for
proportions, exact Poisson / Byar for counts and rates; means have no limits because the
metrics carry no standard deviation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from actionplan.models import Plan
from actionplan.permissions import plans_visible_to
from commissioning import permissions
from commissioning.models import (
    FULL_SHARE_BP,
    Contract,
    ContractForm,
    ContractMeasure,
    ContractProvider,
    ContractStatus,
    Judgement,
    Meeting,
    Partnership,
    PartnershipMember,
)
from outcomes.models import Measure, Metric, Polarity, basis_sql, period_label
from outcomes.statistics import (
    SUPPRESS_BELOW,
    Z95,
    disclose_count,
    poisson_limits,
    rate_limits,
    ratio_is_suppressed,
    wilson,
)

TREND_PERIODS = 6


# Partnerships ----------------------------------------------------------------------------


def partnership_list() -> QuerySet[Partnership]:
    return (
        Partnership.objects.select_related("sub_region")
        .annotate(member_count=Count("members", distinct=True), contract_count=Count("contracts", distinct=True))
        .prefetch_related(
            Prefetch(
                "members",
                queryset=PartnershipMember.objects.select_related("organisation").filter(role="lead"),
                to_attr="leads",
            )
        )
        .order_by("name")
    )


def partnership_detail(slug: str) -> QuerySet[Partnership]:
    return (
        Partnership.objects.filter(slug=slug)
        .select_related("sub_region")
        .prefetch_related(
            Prefetch("members", queryset=PartnershipMember.objects.select_related("organisation")),
            "boroughs",
            Prefetch("meetings", queryset=Meeting.objects.annotate(n_decisions=Count("decisions"))),
        )
    )


def partnership_plans(user: Any, partnership: Partnership) -> QuerySet[Plan]:
    """The partnership's linked plans that this user may read (private plans stay hidden)."""
    return plans_visible_to(user).filter(partnerships=partnership).order_by("title")


def partnership_contracts(user: Any, partnership: Partnership) -> QuerySet[Contract]:
    return (
        permissions.visible_contracts(user)
        .filter(commissioner_partnership=partnership)
        .with_status()
        .order_by("reference")
    )


# Register --------------------------------------------------------------------------------


def contract_register(
    *,
    user: Any,
    commissioner: str = "",
    provider: Any = None,
    borough: Any = None,
    form: str = "",
    status: str = "",
    today: dt.date | None = None,
) -> QuerySet[Contract]:
    """Contracts the user may see, filtered; `full_access` says whether the value may be shown.

    `commissioner` is "org:<id>" or "partnership:<id>".
    """
    qs = (
        permissions.visible_contracts(user)
        .with_status(today)
        .annotate(
            full_access=Case(
                When(permissions.readable_q(user), then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
        .select_related("commissioner_organisation", "commissioner_partnership")
        .prefetch_related(
            Prefetch("providers", queryset=ContractProvider.objects.select_related("organisation")), "boroughs"
        )
    )
    if commissioner.startswith("org:") and commissioner[4:].isdigit():
        qs = qs.filter(commissioner_organisation_id=int(commissioner[4:]))
    elif commissioner.startswith("partnership:") and commissioner[12:].isdigit():
        qs = qs.filter(commissioner_partnership_id=int(commissioner[12:]))
    if provider is not None:
        qs = qs.filter(providers__organisation=provider)
    if borough is not None:
        qs = qs.filter(boroughs=borough)
    if form:
        qs = qs.filter(form=form)
    if status:
        qs = qs.filter(current_status=status)
    # Each filter joins at most one row per contract (one provider row per organisation, one borough).
    return qs.order_by("reference")


def register_totals(qs: QuerySet[Contract]) -> dict[str, int]:
    """Count of contracts, and the number and annual value of those the user reads in full (one query)."""
    return qs.order_by().aggregate(
        contracts=Count("pk", distinct=True),
        full=Count("pk", filter=Q(full_access=True), distinct=True),
        value=Coalesce(Sum("annual_value_pence", filter=Q(full_access=True)), 0),
    )


# Performance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    period_start: dt.date
    period: str
    value: float | None
    lower: float | None
    upper: float | None
    numerator: Decimal | None
    denominator: int | None
    population: int | None
    boroughs_reporting: int
    # Under disclosure control (controlled_point): None above means "*" where `suppressed`.
    suppressed: bool = False
    controlled: bool = False


def controlled_point(point: Point, measure: str) -> Point:
    """A point as published to anyone who does not commission all of the contract's boroughs.

    The dashboards' rules (docs/statistics.md, "Disclosure control"): counts below 5 are "*",
    others rounded to the nearest 5; a percentage or mean is suppressed when its numerator or
    denominator is below 5, a rate when its events are; a count's limits and a mean's
    numerator (a sum of scores) are never published. Populations are public figures.
    """
    events = None if point.numerator is None else int(Decimal(point.numerator).to_integral_value())
    numerator = None if measure == Measure.MEAN else disclose_count(events).value
    denominator = disclose_count(point.denominator).value if point.denominator is not None else None
    if measure in (Measure.PROPORTION, Measure.MEAN):
        hidden = ratio_is_suppressed(events, point.denominator)
    else:
        hidden = events is None or events < SUPPRESS_BELOW
    if measure == Measure.COUNT:
        value, lower, upper = (None if numerator is None else float(numerator)), None, None
    elif hidden:
        value = lower = upper = None
    else:
        value, lower, upper = point.value, point.lower, point.upper
    return Point(
        point.period_start,
        point.period,
        value,
        lower,
        upper,
        None if measure == Measure.MEAN else (None if numerator is None else Decimal(numerator)),
        denominator,
        point.population,
        point.boroughs_reporting,
        suppressed=hidden,
        controlled=True,
    )


@dataclass
class MeasurePerformance:
    measure: ContractMeasure
    trend: list[Point] = field(default_factory=list)
    boroughs_total: int = 0
    # The exact figures when `trend` is shown under disclosure control: the judgement (and so
    # the money earned or at risk) is the contract's, the same whoever reads it.
    exact_trend: list[Point] | None = None

    @property
    def latest(self) -> Point | None:
        return self.trend[-1] if self.trend else None

    @property
    def controlled(self) -> bool:
        return self.exact_trend is not None

    @property
    def complete(self) -> bool:
        """Did every borough of the contract report in the latest period?"""
        latest = self.latest
        return latest is not None and (not self.boroughs_total or latest.boroughs_reporting >= self.boroughs_total)

    @property
    def judgement(self) -> str:
        """met / not_met / unknown by the one rule (`judge`), on the latest exact figures."""
        return self.judged[0]

    @property
    def judgement_note(self) -> str:
        return self.judged[1]

    @property
    def judged(self) -> tuple[str, str]:
        exact = self.exact_trend if self.exact_trend is not None else self.trend
        latest = exact[-1] if exact else None
        indicator = self.measure.indicator
        return judge(
            measure=indicator.measure,
            polarity=indicator.polarity,
            target=self.measure.target,
            value=None if latest is None else latest.value,
            lower=None if latest is None else latest.lower,
            upper=None if latest is None else latest.upper,
            complete=self.complete,
        )

    @property
    def judgement_label(self) -> str:
        return JUDGEMENT_LABELS[self.judgement]

    @property
    def linked_pence(self) -> int:
        return self.measure.linked_pence

    @property
    def earned_pence(self) -> int:
        return self.linked_pence if self.judgement == "met" else 0

    @property
    def at_risk_pence(self) -> int:
        return self.linked_pence if self.judgement == "not_met" else 0

    @property
    def pending_pence(self) -> int:
        return self.linked_pence if self.judgement == "unknown" else 0


JUDGEMENT_LABELS = dict(Judgement.choices)


def judge(
    *,
    measure: str,
    polarity: str,
    target: Decimal | float,
    value: float | Decimal | None,
    lower: float | Decimal | None,
    upper: float | Decimal | None,
    complete: bool = True,
) -> tuple[str, str]:
    """Is the target met, missed, or not yet certain? (The judgement, and why when it is not plain.)

    The one rule of payment statements and the contract performance page (docs/statistics.md,
    "Judging a target"): with "higher is better" a target is met only when the 95% interval lies
    wholly on its good side (lower limit >= target), missed only when wholly on the other (upper
    limit < target), and otherwise not yet certain; "lower is better" is the mirror image. A
    figure with no limits (a mean) is judged on its value, and says so. A count summed over fewer
    boroughs than the contract covers is not the contract's count, and would meet a "lower is
    better" target by missing data: not yet certain. No figures, or an indicator with no
    judgement: not yet certain.
    """
    if polarity not in (Polarity.HIGHER_BETTER, Polarity.LOWER_BETTER):
        return Judgement.UNCERTAIN, "The indicator has no better direction, so no target can be judged."
    if value is None:
        return Judgement.UNCERTAIN, "No approved figures for the period."
    if measure == Measure.COUNT and not complete:
        return Judgement.UNCERTAIN, "Not every borough (or period) of the contract has reported: the count is partial."
    t = float(target)
    if lower is None or upper is None:
        low = high = float(value)
        note = "Judged on the value alone: this measure has no confidence limits."
    else:
        low, high = float(lower), float(upper)
        note = ""
    if polarity == Polarity.HIGHER_BETTER:
        if low >= t:
            return Judgement.MET, note
        if high < t:
            return Judgement.MISSED, note
    else:
        if high <= t:
            return Judgement.MET, note
        if low > t:
            return Judgement.MISSED, note
    return Judgement.UNCERTAIN, note or "The 95% confidence interval includes the target."


MEASURE_SERIES_SQL = f"""
WITH cells AS (
    SELECT cm.id AS measure_id, mt.period_start,
           SUM(mt.numerator) AS num, SUM(mt.denominator) AS den, SUM(mt.population) AS pop,
           COUNT(*) AS boroughs,
           row_number() OVER (PARTITION BY cm.id ORDER BY mt.period_start DESC) AS recency
    FROM commissioning_contractmeasure cm
    JOIN commissioning_contract_boroughs cb ON cb.contract_id = cm.contract_id
    JOIN outcomes_metric mt
      ON mt.indicator_id = cm.indicator_id AND mt.area_id = cb.area_id AND {basis_sql("mt", "basis")}
     AND mt.population_group = ''
    WHERE cm.id = ANY(%(ids)s)
    GROUP BY cm.id, mt.period_start
)
SELECT measure_id, period_start, num, den, pop, boroughs FROM cells
WHERE recency <= %(periods)s
ORDER BY measure_id, period_start
"""  # noqa: S608 - the slot is our own fragment; values are parameters


def measure_series(
    measure_ids: list[int], *, periods: int = TREND_PERIODS, basis: str = Metric.Basis.APPROVED
) -> dict[int, list[tuple[dt.date, Decimal, int | None, int | None, int]]]:
    """Summed borough figures per measure and period (latest `periods`), in one query."""
    if not measure_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(MEASURE_SERIES_SQL, {"ids": list(measure_ids), "periods": periods, "basis": basis})
        rows = cursor.fetchall()
    series: dict[int, list[tuple[dt.date, Decimal, int | None, int | None, int]]] = {}
    for measure_id, start, num, den, pop, boroughs in rows:
        series.setdefault(measure_id, []).append(
            (start, num, None if den is None else int(den), None if pop is None else int(pop), boroughs)
        )
    return series


def point_for(
    measure: str, period_type: str, start: dt.date, num: Decimal, den: int | None, pop: int | None, boroughs: int
) -> Point:
    """The value and 95% limits of summed figures, by the indicator's measure."""
    x = float(num)
    value = lower = upper = None
    if measure == Measure.PROPORTION and den:
        value = 100 * x / den
        low, high = wilson(x, den, Z95)
        lower, upper = 100 * low, 100 * high
    elif measure == Measure.RATE and pop:
        value = x / pop * 100_000
        lower, upper = rate_limits(x, pop, 95)
    elif measure == Measure.COUNT:
        value = x
        lower, upper = poisson_limits(x, 95)
    elif measure == Measure.MEAN and den:
        value = x / den
    return Point(start, period_label(period_type, start), value, lower, upper, num, den, pop, boroughs)


def contract_measures(contract: Contract) -> QuerySet[ContractMeasure]:
    return contract.measures.select_related("indicator").order_by("indicator__name")


def contract_performance(
    contract: Contract, measures: list[ContractMeasure], *, exact: bool = True
) -> list[MeasurePerformance]:
    """Per measure: the trend over recent periods, latest value, judgement and money (one query).

    `exact` (commissioning.permissions.sees_exact_performance) shows the summed figures as
    they are; otherwise they are shown under disclosure control (`controlled_point`).
    """
    boroughs_total = len(contract.boroughs.all())
    series = measure_series([m.pk for m in measures])
    result = []
    for measure in measures:
        measure.contract = contract  # linked_pence reads the contract's value without a query
        indicator = measure.indicator
        trend = [point_for(indicator.measure, indicator.period_type, *row) for row in series.get(measure.pk, [])]
        if exact:
            result.append(MeasurePerformance(measure=measure, trend=trend, boroughs_total=boroughs_total))
        else:
            shown = [controlled_point(p, indicator.measure) for p in trend]
            result.append(
                MeasurePerformance(measure=measure, trend=shown, boroughs_total=boroughs_total, exact_trend=trend)
            )
    return result


def performance_totals(rows: list[MeasurePerformance]) -> dict[str, int]:
    return {
        "linked": sum(r.linked_pence for r in rows),
        "earned": sum(r.earned_pence for r in rows),
        "at_risk": sum(r.at_risk_pence for r in rows),
        "pending": sum(r.pending_pence for r in rows),
        "met": sum(r.judgement == "met" for r in rows),
        "not_met": sum(r.judgement == "not_met" for r in rows),
        "unknown": sum(r.judgement == "unknown" for r in rows),
    }


# Overview --------------------------------------------------------------------------------

CURRENT_STATUSES = (ContractStatus.ACTIVE, ContractStatus.EXPIRING)


@dataclass
class Overview:
    contracts: int
    total_pence: int
    by_form: list[dict[str, Any]]
    by_borough: list[dict[str, Any]]
    outcome_linked_pence: int
    measures: int
    measures_met: int
    measures_not_met: int
    measures_unknown: int

    @property
    def outcome_linked_percent(self) -> float | None:
        return 100 * self.outcome_linked_pence / self.total_pence if self.total_pence else None


def overview(*, user: Any, today: dt.date | None = None) -> Overview:
    """Current spend (active and expiring contracts the user reads in full), in five queries.

    A contract's annual value is split evenly across the boroughs it covers: contracts do
    not say how their money divides between boroughs.
    """
    current = permissions.readable_contracts(user).with_status(today).filter(current_status__in=CURRENT_STATUSES)
    ids = current.values("pk")
    forms = {
        row["form"]: row
        for row in Contract.objects.filter(pk__in=ids)
        .values("form")
        .annotate(contracts=Count("pk"), total=Sum("annual_value_pence"))
        .order_by()
    }
    by_form = [
        {
            "form": choice.value,
            "label": choice.label,
            "contracts": forms.get(choice.value, {}).get("contracts", 0),
            "total": forms.get(choice.value, {}).get("total") or 0,
        }
        for choice in ContractForm
    ]
    through = Contract.boroughs.through
    borough_count = (
        through.objects.filter(contract_id=OuterRef("contract_id"))
        .order_by()
        .values("contract_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    by_borough = list(
        through.objects.filter(contract_id__in=ids)
        .values("area__name", "area__code")
        .annotate(
            contracts=Count("contract_id"),
            total=Sum(
                ExpressionWrapper(
                    Cast("contract__annual_value_pence", DecimalField(max_digits=20, decimal_places=2))
                    / Subquery(borough_count, output_field=IntegerField()),
                    output_field=DecimalField(max_digits=24, decimal_places=2),
                )
            ),
        )
        .order_by("-total", "area__name")
    )
    for row in by_borough:
        row["total"] = int(row["total"].quantize(Decimal(1)))
    linked = (
        ContractMeasure.objects.filter(contract_id__in=ids).aggregate(
            total=Sum(F("contract__annual_value_pence") * F("share_bp") / FULL_SHARE_BP)
        )["total"]
        or 0
    )
    measures = list(
        ContractMeasure.objects.filter(contract_id__in=ids)
        .select_related("indicator", "contract")
        .annotate(boroughs_total=Count("contract__boroughs", distinct=True))
    )
    series = measure_series([m.pk for m in measures], periods=1)
    met = not_met = unknown = 0
    for m in measures:
        trend = [point_for(m.indicator.measure, m.indicator.period_type, *row) for row in series.get(m.pk, [])]
        judgement = MeasurePerformance(measure=m, trend=trend, boroughs_total=m.boroughs_total).judgement
        met += judgement == "met"
        not_met += judgement == "not_met"
        unknown += judgement == "unknown"
    return Overview(
        contracts=sum(r["contracts"] for r in by_form),
        total_pence=sum(r["total"] for r in by_form),
        by_form=by_form,
        by_borough=by_borough,
        outcome_linked_pence=int(linked),
        measures=len(measures),
        measures_met=met,
        measures_not_met=not_met,
        measures_unknown=unknown,
    )
