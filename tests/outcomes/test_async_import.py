"""A large API submission is imported by a real Celery worker, once, and polled to the end."""

from __future__ import annotations

import pytest

from outcomes import services
from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from outcomes.tasks import submission_process
from tests.factories import IndicatorFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CAMDEN = "E09000007"
FINISHED = {"completed", "rejected", "failed"}


@pytest.fixture
def recovery(transactional_db):
    return IndicatorFactory(
        code="test-recovery",
        name="Recovery rate (test)",
        definition="Share of people finishing treatment who recovered.",
        measure=Measure.PROPORTION,
        period_type=PeriodType.MONTH,
    )


@pytest.fixture
def large_submission(settings, client_for, provider, recovery, worker_process):
    """POST 24 monthly rows (one bad) with the async threshold at 5 rows; poll until the worker is done.

    Only the web side decides inline or queued (by OUTCOMES_ASYNC_ROWS), so the worker needs no
    setting of its own.
    """
    settings.OUTCOMES_ASYNC_ROWS = 5
    lines = ["indicator_code,borough_code,period,numerator,denominator,note"]
    lines += [f"test-recovery,{CAMDEN},{year}-{m:02d},{m},40," for year in (2024, 2025) for m in range(1, 13)]
    lines[5] = f"test-recovery,{CAMDEN},2024-05,90,40,"  # numerator above denominator
    client = client_for(provider)
    response = client.post("/api/v1/submissions/", data="\n".join(lines).encode(), content_type="text/csv")

    def finished():
        summary = client.get(response["Location"]).json()
        return summary if summary["status"] in FINISHED else None

    return response, worker_process.wait_for(finished, timeout=90)


def test_a_large_submission_answers_202_and_polling_ends_in_completed_with_the_counts(large_submission, provider_org):
    response, summary = large_submission
    assert response.status_code == 202, response.content
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["total_rows"] == 24
    assert response["Location"] == accepted["url"]
    assert response["Retry-After"]

    assert summary["status"] == "completed", summary
    assert (summary["created_count"], summary["updated_count"], summary["rejected_count"]) == (23, 0, 1)
    assert (summary["processed_rows"], summary["progress_percent"], summary["progress"]) == (24, 100, None)
    assert [(i["row_number"], i["code"]) for i in summary["issues"]] == [(6, "numerator_above_denominator")]
    assert OutcomeValue.objects.filter(organisation=provider_org).count() == 23


def test_processing_a_finished_submission_again_changes_nothing(large_submission, worker_process):
    _, summary = large_submission
    submission_id = summary["id"]

    def snapshot():
        values = sorted(OutcomeValue.objects.values_list("pk", "numerator", "status", "submission_id", "submitted_at"))
        submission = Submission.objects.values().get(pk=submission_id)
        issues = sorted(Submission.objects.get(pk=submission_id).issues.values_list("pk", "code", "row_number"))
        return values, submission, issues

    before = snapshot()
    # A re-delivered task (acks_late, lost worker, visibility timeout) on the real worker ...
    assert submission_process.delay(submission_id).get(timeout=60) == "completed"
    # ... and the service called directly both leave a finished submission alone.
    assert services.submission_process(submission_id=submission_id).status == Submission.Status.COMPLETED
    assert snapshot() == before
