"""An import's touched cells are recomputed by a real Celery worker after commit."""

from __future__ import annotations

import io

import pytest
from django.db import transaction

from outcomes import services
from outcomes.models import Door, Measure, Metric, PeriodType
from tests.factories import IndicatorFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_import_refreshes_the_metrics_of_its_cells_through_the_worker(worker_process, provider, provider_org):
    indicator = IndicatorFactory(
        code="tt-recovery-w",
        name="Recovery",
        definition="d",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )
    csv = "indicator_code,borough_code,period,numerator,denominator\ntt-recovery-w,E09000007,2025-04,45,90\n"
    with transaction.atomic():
        submission = services.submission_create(
            actor=provider, organisation=provider_org, door=Door.CSV, stream=io.BytesIO(csv.encode())
        )
    assert submission.created_count == 1
    # Submitted values count only in the provisional basis until approved.
    metric = worker_process.wait_for(
        lambda: Metric.objects.filter(indicator=indicator, area__short_code="LDN", basis="provisional").first()
    )
    assert metric.numerator == 45 and metric.denominator == 90
    assert not Metric.objects.filter(indicator=indicator, basis="approved").exists()
