"""A submission whose task was lost (the queue emptied) is enqueued again by the beat sweep, once.

The import is queued with no worker running, the test's queue is emptied in Redis (as a
Redis restart without persistence would), and the sweep runs twice, as two beats at once
would: it enqueues the submission exactly once, and a real worker then imports it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from outcomes import services
from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from tests.factories import IndicatorFactory
from tests.workers import Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CAMDEN = "E09000007"


@pytest.fixture
def recovery(transactional_db):
    return IndicatorFactory(
        code="test-recovery",
        name="Recovery rate (test)",
        definition="Share of people finishing treatment who recovered.",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )


def test_a_submission_left_queued_by_a_lost_task_is_requeued_once_and_imported(
    settings, client_for, provider, recovery, tmp_path
):
    settings.OUTCOMES_ASYNC_ROWS = 5
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    broker.delete(queue)  # what earlier tests of this run left queued with no worker to take it
    lines = ["indicator_code,borough_code,period,numerator,denominator,note"]
    lines += [f"test-recovery,{CAMDEN},2025-{m:02d},{m},40," for m in range(1, 13)]
    response = client_for(provider).post("/api/v1/submissions/", "\n".join(lines).encode(), content_type="text/csv")
    assert response.status_code == 202, response.content
    submission = Submission.objects.get()
    assert broker.llen(queue) == 1

    broker.delete(queue)  # the task is lost with the queue
    assert services.submissions_requeue_lost() == []  # too recent: its task may still be on its way
    later = timezone.now() + timedelta(minutes=settings.OUTCOMES_REQUEUE_AFTER_MINUTES + 1)
    first, second = services.submissions_requeue_lost(now=later), services.submissions_requeue_lost(now=later)
    assert (first, second) == ([submission.pk], [])
    assert broker.llen(queue) == 1  # enqueued exactly once

    worker = Worker(tmp_path)
    try:
        worker.wait_for(lambda: Submission.objects.get(pk=submission.pk).is_finished, timeout=90, what="the import")
    finally:
        worker.stop()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.COMPLETED, submission.message
    assert OutcomeValue.objects.count() == 12
    assert services.submissions_requeue_lost(now=later + timedelta(hours=1)) == []  # finished: left alone


def test_the_sweep_runs_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["requeue-lost-submissions"]
    assert entry["task"] == "outcomes.tasks.submissions_requeue_lost"
    assert entry["schedule"] <= 60 * django_settings.OUTCOMES_REQUEUE_AFTER_MINUTES
