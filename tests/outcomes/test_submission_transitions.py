"""A submission's status changes only along outcomes.services.SUBMISSION_TRANSITIONS."""

from __future__ import annotations

import pytest

from outcomes.models import Submission
from outcomes.services import SUBMISSION_TRANSITIONS, submission_mark_failed, submission_move
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db
Status = Submission.Status


def test_every_status_has_a_row_and_the_finished_ones_are_final():
    assert set(SUBMISSION_TRANSITIONS) == set(Status.values)
    for finished in (Status.COMPLETED, Status.REJECTED, Status.FAILED):
        assert SUBMISSION_TRANSITIONS[finished] == frozenset()


@pytest.mark.parametrize(
    ("start", "to", "moves"),
    [
        (Status.QUEUED, Status.RUNNING, True),
        (Status.QUEUED, Status.COMPLETED, False),  # never finished without running
        (Status.RUNNING, Status.RUNNING, True),  # a re-delivered task starts over
        (Status.RUNNING, Status.COMPLETED, True),
        (Status.RUNNING, Status.QUEUED, False),
        (Status.COMPLETED, Status.RUNNING, False),  # a finished import is never reopened
        (Status.REJECTED, Status.COMPLETED, False),
        (Status.FAILED, Status.RUNNING, False),
    ],
)
def test_a_move_happens_only_where_the_table_allows_it(start, to, moves):
    submission = SubmissionFactory(status=start)
    assert submission_move(submission_id=submission.pk, to=to, message="moved") is moves
    submission.refresh_from_db()
    assert submission.status == (to if moves else start)
    assert (submission.message == "moved") is moves


def test_a_late_failure_never_overwrites_a_finished_import():
    done = SubmissionFactory(status=Status.COMPLETED, message="3 new values were imported.")
    submission_mark_failed(submission_id=done.pk, reason="The import took too long and was stopped.")
    done.refresh_from_db()
    assert (done.status, done.message) == (Status.COMPLETED, "3 new values were imported.")

    running = SubmissionFactory(status=Status.RUNNING)
    submission_mark_failed(submission_id=running.pk, reason="The import took too long and was stopped.")
    running.refresh_from_db()
    assert running.status == Status.FAILED
    assert running.finished_at is not None
