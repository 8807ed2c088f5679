"""Background work for outcomes. Tasks take ids, call one service, and are idempotent."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from outcomes import services

# Called (with no arguments) after a recompute or rebuild wrote metric rows: apps above outcomes
# hook in here, as the open-data package's debounced rebuild does (opendata.apps).
metrics_written_hooks: list[Any] = []


def _metrics_written(written: int) -> int:
    if written:
        for hook in metrics_written_hooks:
            hook()
    return written


@shared_task(bind=True, max_retries=3, default_retry_delay=30)
def submission_process(self, submission_id: int) -> str:  # type: ignore[no-untyped-def]
    """Validate and write a large submission. Re-delivery after a lost worker starts it again cleanly."""
    try:
        submission = services.submission_process(submission_id=submission_id)
    except SoftTimeLimitExceeded:
        services.submission_mark_failed(submission_id=submission_id, reason="The import took too long and was stopped.")
        raise
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            services.submission_mark_failed(submission_id=submission_id, reason=f"The import failed: {exc}")
            raise
        raise self.retry(exc=exc) from exc
    if submission is not None and not submission.is_finished:
        # Another delivery holds it: usually the PostgreSQL session of a worker process that was
        # killed, until the server notices (client_connection_check_interval). Come back, rather
        # than report success for an import that has not happened.
        raise self.retry(countdown=5, max_retries=120)
    return submission.status if submission else "missing"


@shared_task
def submissions_requeue_lost() -> int:
    """The beat sweep: enqueue again submissions left "queued" by a lost task (each once)."""
    return len(services.submissions_requeue_lost())


@shared_task(max_retries=3, default_retry_delay=10, autoretry_for=(OSError,))
def metrics_recompute(cells: list[list]) -> int:
    """Recompute the metrics of the (indicator id, period start) cells an import or review touched."""
    from outcomes.aggregation import metrics_recompute_cells

    return _metrics_written(metrics_recompute_cells([(int(i), str(p)) for i, p in cells]))


@shared_task
def metrics_rebuild_all() -> int:
    """The nightly rebuild of every metric; must leave the same rows as the incremental path."""
    from outcomes.aggregation import metrics_rebuild_all as rebuild

    return _metrics_written(rebuild())
