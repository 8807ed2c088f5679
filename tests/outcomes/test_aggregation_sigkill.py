"""A worker killed with SIGKILL in the middle of a recompute: the task is redelivered and the
metrics end exactly as a clean rebuild leaves them (acks_late + reject_on_worker_lost)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from outcomes.aggregation import metrics_rebuild_all
from outcomes.models import Door, Indicator, Measure, Metric, OutcomeValue, PeriodType, Submission
from outcomes.tasks import metrics_recompute
from stakeholders.models import Area, AreaLevel
from tests.conftest import _database_url
from tests.factories import OrganisationFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]
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
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait(condition, what: str, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()}")


def _rows():
    return list(Metric.objects.order_by(*COLUMNS[:4]).values_list(*COLUMNS))


def test_a_worker_killed_mid_recompute_redelivers_the_task_and_ends_like_a_clean_rebuild(tmp_path):
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    period = "2026-03-01"
    indicator = Indicator.objects.create(
        code="kill-recovery", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    org = OrganisationFactory()
    submission = Submission.objects.create(organisation=org, submitted_by=UserFactory(), door=Door.API)
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

    # Hold a row lock on London's metric so the recompute blocks half way through its upsert.
    blocker = psycopg2.connect(_database_url(connection.settings_dict))
    blocking = blocker.cursor()
    blocking.execute("SELECT 1 FROM outcomes_metric WHERE id = %s FOR UPDATE", [london.pk])

    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "londonmh",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        metrics_recompute.delay([[indicator.pk, period]])

        def waiting_backends() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE %s",
                    ["%WITH cells AS%"],
                )
                return cursor.fetchone()[0]

        _wait(lambda: waiting_backends() == 1, "the recompute to block mid-statement", log_path)
        children = _wait(lambda: _children(worker.pid), "the pool process", log_path)
        assert len(children) == 1
        os.kill(children[0], signal.SIGKILL)  # kill -9 the process running the task
        _wait(lambda: "SIGKILL" in log_path.read_text(), "the worker to notice its lost process", log_path)
        # Redelivered (reject_on_worker_lost) to a fresh pool process, which blocks in turn: the
        # killed attempt's transaction never commits, so it cannot have written anything.
        _wait(lambda: [c for c in _children(worker.pid) if c != children[0]], "a new pool process", log_path)
        assert Metric.objects.get(pk=london.pk).numerator == london.numerator
        blocker.rollback()
        _wait(
            lambda: (
                Metric.objects.get(indicator=indicator, area__level=AreaLevel.LONDON, basis="approved").numerator
                == 8 * 60
            ),
            "the redelivered recompute to finish",
            log_path,
        )
        _wait(lambda: "succeeded" in log_path.read_text(), "the task to succeed", log_path)
    finally:
        blocker.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    text = log_path.read_text()
    assert "WorkerLostError" in text or "exited with 'signal 9 (SIGKILL)'" in text, text

    after = _rows()
    assert metrics_rebuild_all() == 0  # the nightly rebuild finds nothing to change
    Metric.objects.all().delete()
    metrics_rebuild_all()
    assert _rows() == after  # identical to a clean rebuild from scratch
