"""The database connection dies under a request: the request fails whole, says so, writes
nothing, and the next request works (docs/reliability.md).

The request is a real API submission on its own thread (its own connection). The test holds
the import's per-organisation advisory lock so the request waits at a known point, inside its
transaction, then terminates that request's PostgreSQL backend, as a failover or a killed
connection would.
"""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from tests.factories import IndicatorFactory
from tests.workers import Gunicorn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CSV = "indicator_code,borough_code,period,numerator,denominator\n" + "".join(
    f"rel-recovery,E09000007,2025-{m:02d},{30 + m},80\n" for m in range(1, 7)
)


def _post(client: Client, results: list) -> None:
    try:
        results.append(client.post("/api/v1/submissions/", data=CSV.encode(), content_type="text/csv"))
    finally:
        connection.close()


def _backend_waiting_on_the_import_lock(timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the request never reached the import lock")


def test_a_request_whose_connection_is_killed_fails_whole_and_the_retry_succeeds(provider, provider_org):
    IndicatorFactory(
        code="rel-recovery", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    client = Client(raise_request_exception=False)
    client.force_login(provider)

    results: list = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext('outcomes.import'), %s)", [provider_org.pk])
        worker = threading.Thread(target=_post, args=(client, results))
        worker.start()
        victim = _backend_waiting_on_the_import_lock()
        cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
        cursor.execute("SELECT pg_advisory_unlock(hashtext('outcomes.import'), %s)", [provider_org.pk])
    worker.join(timeout=30)

    [failed] = results
    # The submission is recorded as failed with a reason the provider can act on, not left running.
    assert failed.status_code == 201, failed.content
    body = failed.json()
    assert body["status"] == "failed"
    assert "nothing was saved" in body["message"]
    # Nothing of the failed import was written.
    assert OutcomeValue.objects.count() == 0
    assert not Submission.objects.exclude(status__in=["completed", "rejected", "failed"]).exists()

    # The same client, next request: a fresh connection (CONN_HEALTH_CHECKS) and a whole import.
    retry_results: list = []
    retry = threading.Thread(target=_post, args=(client, retry_results))
    retry.start()
    retry.join(timeout=30)
    [response] = retry_results
    assert response.status_code == 201, response.content
    assert OutcomeValue.objects.filter(indicator__code="rel-recovery").count() == 6


@pytest.fixture
def gunicorn_url(transactional_db, tmp_path):
    server = Gunicorn(tmp_path)
    try:
        yield server.url
    finally:
        server.stop()


def test_a_connection_dropped_between_requests_is_replaced_without_an_error(gunicorn_url):
    def health() -> int:
        with urllib.request.urlopen(f"{gunicorn_url}/health/", timeout=10) as response:  # noqa: S310 - our server
            return response.status

    assert health() == 200
    # Kill the web process's persistent connection (every other connection to the test
    # database), as a failover or an idle-connection reaper would.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 1
    # CONN_HEALTH_CHECKS: the next request finds its connection dead and reconnects.
    assert health() == 200
