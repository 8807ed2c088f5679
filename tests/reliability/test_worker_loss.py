"""A Celery worker killed (SIGKILL) in the middle of a large import: the task goes back to the
queue, a fresh process imports the file once, and nothing is lost or doubled
(docs/reliability.md). The aggregation counterpart is tests/outcomes/test_aggregation_sigkill.py.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection

from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from tests.conftest import _database_url
from tests.factories import IndicatorFactory
from tests.workers import Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = 36


def _waiting_on_the_import_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_mid_import_hands_the_file_to_a_fresh_process_which_imports_it_once(
    settings, tmp_path, client_for, provider, provider_org
):
    settings.OUTCOMES_ASYNC_ROWS = 5  # the web side queues anything bigger
    IndicatorFactory(
        code="kill-import", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    lines = ["indicator_code,borough_code,period,numerator,denominator"]
    lines += [f"kill-import,E09000007,{y}-{m:02d},{m},40" for y in (2023, 2024, 2025) for m in range(1, 13)]

    # Hold the import's per-organisation lock so the worker blocks inside its write transaction.
    blocker = psycopg2.connect(_database_url(connection.settings_dict))
    blocker.cursor().execute("SELECT pg_advisory_lock(hashtext('outcomes.import'), %s)", [provider_org.pk])
    worker = Worker(tmp_path, pool="prefork")
    try:
        response = client_for(provider).post(
            "/api/v1/submissions/", data="\n".join(lines).encode(), content_type="text/csv"
        )
        assert response.status_code == 202, response.content
        submission_id = response.json()["id"]

        worker.wait_for(lambda: _waiting_on_the_import_lock() == 1, what="the import to block on its lock")
        killed = worker.kill_the_running_task()
        # The killed attempt's transaction died with it: nothing written.
        assert OutcomeValue.objects.count() == 0
        worker.wait_for(lambda: [c for c in worker.pool_processes() if c != killed], what="a fresh pool process")
        blocker.cursor().execute("SELECT pg_advisory_unlock(hashtext('outcomes.import'), %s)", [provider_org.pk])

        finished = worker.wait_for(
            lambda: Submission.objects.filter(pk=submission_id, status="completed").first(),
            what="the redelivered import to finish",
        )
    finally:
        blocker.close()
        worker.stop()

    assert finished.created_count == ROWS and finished.rejected_count == 0
    assert OutcomeValue.objects.filter(indicator__code="kill-import").count() == ROWS
    log = worker.log()
    assert "WorkerLostError" in log or "signal 9 (SIGKILL)" in log, log
