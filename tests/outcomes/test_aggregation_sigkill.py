"""A worker killed with SIGKILL in the middle of a recompute: the task is redelivered and the
metrics end exactly as a clean rebuild leaves them (acks_late + reject_on_worker_lost)."""

from __future__ import annotations

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from outcomes.aggregation import metrics_rebuild_all
from outcomes.models import Door, Measure, Metric, OutcomeValue, PeriodType
from outcomes.tasks import metrics_recompute
from stakeholders.models import Area, AreaLevel
from tests.conftest import _database_url
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory
from tests.workers import Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COLUMNS = (
    "indicator_id",
    "area_id",
    "period_start",
    "basis",
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "suppressed",
    "comparison",
    "quintile",
    "trend",
    "providers",
    "also_provisional",
)


def _rows():
    return list(Metric.objects.order_by(*COLUMNS[:4]).values_list(*COLUMNS))


def test_a_worker_killed_mid_recompute_redelivers_the_task_and_ends_like_a_clean_rebuild(tmp_path):
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    period = "2026-03-01"
    indicator = IndicatorFactory(
        code="kill-recovery", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    org = OrganisationFactory()
    submission = SubmissionFactory(organisation=org, submitted_by=UserFactory(), door=Door.API)
    for n, borough in enumerate(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code")[:8]):
        OutcomeValue.objects.create(
            organisation=org,
            indicator=indicator,
            borough=borough,
            period_start=period,
            numerator=20 + n,
            denominator=100,
            status="approved",
            submission=submission,
            submitted_at=timezone.now(),
        )
    metrics_rebuild_all()
    # New figures arrive; the recompute that would publish them is the one we kill.
    OutcomeValue.objects.filter(indicator=indicator).update(numerator=60)
    london = Metric.objects.get(indicator=indicator, area__level=AreaLevel.LONDON, basis="approved")
    assert london.numerator == sum(20 + n for n in range(8))

    # Hold a row lock on London's metric so the recompute blocks half way through its writes (the
    # first to reach the row splits it into its approved and provisional rows).
    blocker = psycopg2.connect(_database_url(connection.settings_dict))
    blocking = blocker.cursor()
    blocking.execute("SELECT 1 FROM outcomes_metric WHERE id = %s FOR UPDATE", [london.pk])

    worker = Worker(tmp_path, pool="prefork")
    try:
        metrics_recompute.delay([[indicator.pk, period]])

        def waiting_backends() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE %s",
                    ["%UPDATE outcomes_metric%"],
                )
                return cursor.fetchone()[0]

        worker.wait_for(lambda: waiting_backends() == 1, what="the recompute to block mid-statement")
        killed = worker.kill_the_running_task()
        # Redelivered (reject_on_worker_lost) to a fresh pool process, which blocks in turn: the
        # killed attempt's transaction never commits, so it cannot have written anything.
        worker.wait_for(lambda: [c for c in worker.pool_processes() if c != killed], what="a new pool process")
        assert Metric.objects.get(pk=london.pk).numerator == london.numerator
        blocker.rollback()
        worker.wait_for(
            lambda: (
                Metric.objects.get(indicator=indicator, area__level=AreaLevel.LONDON, basis="approved").numerator
                == 8 * 60
            ),
            what="the redelivered recompute to finish",
        )
        worker.wait_for(lambda: "succeeded" in worker.log(), what="the task to succeed")
    finally:
        blocker.close()
        worker.stop()
    text = worker.log()
    assert "WorkerLostError" in text or "exited with 'signal 9 (SIGKILL)'" in text, text

    after = _rows()
    assert metrics_rebuild_all() == 0  # the nightly rebuild finds nothing to change
    Metric.objects.all().delete()
    metrics_rebuild_all()
    assert _rows() == after  # identical to a clean rebuild from scratch
