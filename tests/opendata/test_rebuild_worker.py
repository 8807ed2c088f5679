"""After metrics change, a real Celery worker rebuilds the package once the changes settle (debounced)."""

from __future__ import annotations

import time

import pytest

from opendata.models import PackageRelease
from outcomes import tasks
from tests.opendata.conftest import APRIL, Figures

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DEBOUNCE = 3  # seconds of quiet the worker waits for (OPEN_DATA_DEBOUNCE_SECONDS)


@pytest.fixture
def debounced_worker(transactional_db, tmp_path):
    from tests.workers import Worker

    worker = Worker(tmp_path, env={"OPEN_DATA_DEBOUNCE_SECONDS": str(DEBOUNCE)})
    try:
        yield worker
    finally:
        worker.stop()


def test_a_burst_of_recomputes_gives_one_new_revision_with_the_last_figures(debounced_worker):
    figures = Figures()
    cells = [[figures.recovery.pk, APRIL.isoformat()]]
    for numerator in (40, 50, 60):  # three approvals in a row, each recomputed by the worker
        figures.value(figures.recovery, "CMD", APRIL, numerator, 100)
        tasks.metrics_recompute.delay(cells)
    release = debounced_worker.wait_for(
        lambda: PackageRelease.objects.first(), timeout=60, what="the debounced rebuild"
    )
    time.sleep(DEBOUNCE + 2)  # long enough for a second rebuild, were one queued
    assert PackageRelease.objects.count() == 1
    metrics = bytes(release.files.get(name="metrics.csv").content).decode()
    assert "E09000007,Camden,borough,2026-04,2026-04-01,60,100,60," in metrics
    assert "package_rebuild" in debounced_worker.log()
