"""Redis stops and comes back in the middle of a working day (docs/reliability.md).

A private redis-server (not the machine's shared one) serves as broker and cache for a
gunicorn web process and a Celery worker on the test database. While it is down, pages and
the API are served from PostgreSQL (the cache fails open); once it is back, the web process
and the worker reconnect by themselves and the next large import goes through the queue.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from outcomes.models import Measure, OutcomeValue, PeriodType, Submission
from stakeholders import services as stakeholder_services
from tests.factories import IndicatorFactory
from tests.workers import Gunicorn, PrivateRedis, Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _csv(year: int) -> bytes:
    lines = ["indicator_code,borough_code,period,numerator,denominator"]
    lines += [f"redis-recovery,E09000007,{year}-{m:02d},{m},40" for m in range(1, 13)]
    return "\n".join(lines).encode()


def _request(url: str, *, data: bytes | None = None, token: str | None = None) -> tuple[int, dict | str]:
    headers = {"Content-Type": "text/csv"} if data else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server on loopback
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def test_the_portal_serves_through_a_redis_restart_and_the_queue_works_after_it(tmp_path, provider):
    IndicatorFactory(
        code="redis-recovery", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    _, token = stakeholder_services.api_token_create(actor=provider, name="restart test", days=1)
    redis_server = PrivateRedis(tmp_path)
    env = {"REDIS_URL": redis_server.url, "OUTCOMES_ASYNC_ROWS": "5"}
    (tmp_path / "web").mkdir()
    (tmp_path / "worker").mkdir()
    web = Gunicorn(tmp_path / "web", env=env)
    worker = Worker(tmp_path / "worker", env=env)
    try:

        def import_through_the_queue(year: int) -> None:
            status, body = _request(f"{web.url}/api/v1/submissions/", data=_csv(year), token=token)
            assert status == 202, body
            worker.wait_for(
                lambda: Submission.objects.filter(pk=body["id"], status="completed").exists(),
                what=f"the {year} import",
            )

        import_through_the_queue(2024)
        assert _request(f"{web.url}/dashboards/")[0] == 200

        redis_server.stop()
        # Redis is down: pages and API reads come from PostgreSQL (no 500s, throttles fail open).
        assert _request(f"{web.url}/dashboards/")[0] == 200
        assert _request(f"{web.url}/api/v1/indicators/")[0] == 200
        assert _request(f"{web.url}/indicators/")[0] == 200

        redis_server.start()  # empty: it keeps nothing on disk
        import_through_the_queue(2025)
    finally:
        worker.stop()
        web.stop()
        redis_server.stop()

    assert OutcomeValue.objects.filter(indicator__code="redis-recovery").count() == 24
    assert "cache unavailable" in web.log_path.read_text()
