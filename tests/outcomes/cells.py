"""Generated cells for the disclosure tests: approved borough values written, then aggregated for real."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from outcomes.aggregation import GENERATION_KEY, metrics_recompute_cells
from outcomes.models import Measure, OutcomeValue


@contextmanager
def aggregated_cell(
    world: dict[str, Any], indicator: Any, values: list[tuple[int, int]], period: dt.date
) -> Iterator[None]:
    """One (indicator, period) cell of `values` (numerator, extra denominator) per borough, aggregated.

    Everything is rolled back on leaving: hypothesis runs many examples in one test's transaction.
    """
    measure = indicator.measure
    with transaction.atomic():
        sid = transaction.savepoint()
        for borough, (num, extra) in zip(world["boroughs"], values, strict=False):
            if measure == Measure.PROPORTION and num + extra == 0:
                continue  # a proportion needs a positive denominator
            OutcomeValue.objects.create(
                organisation=world["org"],
                indicator=indicator,
                borough=borough,
                period_start=period,
                numerator=num,
                denominator=num + extra if measure == Measure.PROPORTION else None,
                status="approved",
                submission=world["submission"],
                submitted_at=timezone.now(),
            )
        metrics_recompute_cells([(indicator.pk, period.isoformat())])
        cache.set(GENERATION_KEY, cache.get(GENERATION_KEY, 1) + 1, None)  # no commit inside the test: bump by hand
        try:
            yield
        finally:
            transaction.savepoint_rollback(sid)
