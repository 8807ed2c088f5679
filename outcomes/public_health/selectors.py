"""What the public-health pages read: Metric rows only (disclosure control is applied after).

Every function runs a fixed number of queries whatever the number of areas, periods or
indicators (the tests assert it at two sizes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from outcomes import selectors as outcome_selectors
from outcomes.models import Indicator, Metric
from stakeholders.models import Area, AreaLevel

COMPARE_LEVELS = (AreaLevel.BOROUGH, AreaLevel.SUB_REGION)


def indicator(*, code: str) -> Indicator | None:
    return Indicator.objects.filter(code=code, is_active=True).first()


def spine_profile(*, area: Area, basis: str) -> dict[str, Any]:
    """Each active indicator's latest period with a London figure, the area's and London's metrics
    in it, and every borough's metric in it (the spread is worked out from the published ones).
    Two queries."""
    latest, cells = outcome_selectors.latest_cells(basis=basis)
    if not latest:
        return {"metrics": [], "boroughs": []}
    rows = list(
        Metric.objects.of_basis(basis)
        .filter(cells)
        .filter(Q(area=area) | Q(area__level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH]))
        .select_related("indicator", "area")
    )
    metrics = [m for m in rows if m.area_id == area.pk or m.area.level == AreaLevel.LONDON]
    boroughs = [m for m in rows if m.area.level == AreaLevel.BOROUGH]
    return {"metrics": metrics, "boroughs": boroughs}


def periods(*, indicator: Indicator, basis: str) -> list[dt.date]:
    """The periods with a London figure, oldest first (one query)."""
    return list(
        Metric.objects.of_basis(basis)
        .filter(indicator=indicator, area__level=AreaLevel.LONDON)
        .order_by("period_start")
        .values_list("period_start", flat=True)
    )


def compare_cell(*, indicator: Indicator, period_start: dt.date, basis: str, level: str) -> QuerySet[Metric]:
    """London's metric and every area's of one level, for one indicator and period (one query)."""
    return (
        Metric.objects.of_basis(basis)
        .filter(indicator=indicator, period_start=period_start, area__level__in=[AreaLevel.LONDON, level])
        .select_related("indicator", "area")
    )


def trend_areas() -> QuerySet[Area]:
    """Areas a trend can follow beside London: sub-regions first, then boroughs."""
    return Area.objects.exclude(level=AreaLevel.LONDON).order_by("-level", "name")


def trend_series(
    *, indicator: Indicator, basis: str, areas: list[Area], groups: list[tuple[str, str]]
) -> QuerySet[Metric]:
    """London's headline, each chosen area's headline and London's figure for each chosen group
    (breakdown, group), every period, oldest first (one query)."""
    wanted = Q(area__level=AreaLevel.LONDON, breakdown="", population_group="")
    if areas:
        wanted |= Q(area__in=[a.pk for a in areas], breakdown="", population_group="")
    for breakdown, group in groups:
        wanted |= Q(area__level=AreaLevel.LONDON, breakdown=breakdown, population_group=group)
    return (
        Metric.with_groups.of_basis(basis)
        .filter(wanted, indicator=indicator)
        .select_related("indicator", "area")
        .order_by("period_start")
    )
