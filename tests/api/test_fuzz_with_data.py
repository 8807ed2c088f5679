"""schemathesis over the demo data: every operation's answers match the schema when there is data.

tests/api/test_fuzz.py fuzzes an empty database, where a list answers `[]` and a field that can be
null never is. Here the demo data is loaded first (plans with and without leads, comments with
official responses, evidence with and without links, metrics with suppressed rows), then every
operation is called, anonymously and as a signed-in commissioner, writes included (on the test
database), and each answer is checked against the schema: status code, content type, headers and
body. The figures are printed for the closing note (pytest -s).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import SimpleRateThrottle

from stakeholders import services
from stakeholders.models import User
from tests.api.test_fuzz import CHECKS, schema

EXAMPLES = 3


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection(monkeypatch):
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Hundreds of anonymous calls in a minute: the rate limit has tests of its own.
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _caller(operation, sent, figures):
    """A hypothesis test calling one operation with these headers, EXAMPLES times."""

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
    )
    def call(case):
        figures["cases"] += 1
        case.call_and_validate(headers={**sent, "Host": "testserver"}, checks=CHECKS)

    return call


@pytest.mark.django_db
def test_every_operation_answers_as_documented_over_the_demo_data(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DEMO_DATA_ALLOWED = True  # the test settings are production's
    call_command("seed_demo", verbosity=0)
    commissioner = User.objects.get(email="commissioner@demo.londonmh.invalid")
    _, token = services.api_token_create(actor=commissioner, name="fuzz", days=1)
    figures = {"operations": 0, "cases": 0}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        for role, sent in (("anonymous", {}), ("commissioner", {"Authorization": f"Token {token}"})):
            try:
                _caller(operation, sent, figures)()
            except Exception as failure:
                failures.append((operation.label, role, str(failure)[:800]))
    print(
        f"\nschemathesis over the demo data: {figures['operations']} operations, {figures['cases']} cases,"
        f" {len(failures)} failures"
    )
    assert not failures, "\n\n".join(" ".join(f) for f in failures[:3])
    assert figures["operations"] > 50 and figures["cases"] > 300
    assert not failures, "\n\n".join(" ".join(f) for f in failures[:10])
