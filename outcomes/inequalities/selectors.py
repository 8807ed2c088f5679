"""Reads for the inequalities page and API: one query each, whatever the number of periods or groups."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from outcomes.models import Indicator, InequalityMetric, Metric
from stakeholders.models import Area, AreaLevel


def indicator(*, code: str) -> QuerySet[Indicator]:
    return Indicator.objects.filter(code=code)


def inequality_areas() -> QuerySet[Area]:
    """The areas groups can be shown for: London, then the ICS sub-regions, then the boroughs, by name."""
    order = Case(
        When(level=AreaLevel.LONDON, then=Value(0)),
        When(level=AreaLevel.SUB_REGION, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return Area.objects.annotate(level_order=order).order_by("level_order", "name")


def area_group_metrics(*, indicator: Indicator, area: Area, basis: str) -> QuerySet[Metric]:
    """Every stored figure of one indicator for one area on one basis, every period: the all-people
    headline (breakdown "") and each group's, oldest first."""
    return (
        Metric.with_groups.of_basis(basis)
        .filter(indicator=indicator, area=area)
        .select_related("indicator", "area")
        .order_by("period_start", "breakdown", "population_group")
    )


def area_inequalities(*, indicator: Indicator, area: Area, basis: str) -> list[InequalityMetric]:
    """The gap measures of one indicator for one area, every period and breakdown, oldest first.

    Unlike Metric, an InequalityMetric row has no `also_provisional` flag: for the provisional
    basis a provisional row wins and an approved one stands in where no provisional row was stored
    (the approved figures are then the provisional ones too).
    """
    bases = [basis] if basis == Metric.Basis.APPROVED else [basis, Metric.Basis.APPROVED]
    rows = InequalityMetric.objects.filter(indicator=indicator, area=area, basis__in=bases).order_by(
        "period_start", "breakdown"
    )
    chosen: dict[tuple, InequalityMetric] = {}
    for row in rows:
        key = (row.period_start, row.breakdown)
        if key not in chosen or row.basis == basis:
            chosen[key] = row
    return list(chosen.values())
