"""schemathesis generates requests from /api/schema/ and checks every response against it.

Run as an anonymous visitor and as a signed-in commissioner (a personal API token), through
the WSGI application on the test database. Bounded: MAX_EXAMPLES per operation and role;
the last test checks the total reached at least 1,000 requests. Checks: no 5xx, status
codes, content types, headers and bodies all as the schema documents them.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stakeholders import services

MAX_EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
REQUESTS = {"count": 0, "operations": 0}


# Generating the schema touches no database, so it can load at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection():
    """As Django's test client does: the WSGI handler must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _run(case, headers=None):
    REQUESTS["count"] += 1
    case.call_and_validate(headers={**(headers or {}), "Host": "testserver"}, checks=CHECKS)


@pytest.fixture
def commissioner_token(commissioner):
    _, plain = services.api_token_create(actor=commissioner, name="fuzz", days=1)
    return plain


_settings = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.mark.django_db
@schema.parametrize()
@_settings
def test_anonymous_requests_get_documented_answers_and_never_a_server_error(case):
    _run(case)


@pytest.mark.django_db
@schema.parametrize()
@_settings
def test_a_commissioners_requests_get_documented_answers_and_never_a_server_error(case, commissioner_token):
    _run(case, {"Authorization": f"Token {commissioner_token}"})


def test_the_fuzzing_made_at_least_a_thousand_requests(request):
    selected = [i for i in request.session.items if i.originalname and "documented_answers" in i.originalname]
    if not selected:
        pytest.skip("the fuzz tests were not selected in this run")
    print(f"schemathesis made {REQUESTS['count']} requests")
    assert REQUESTS["count"] >= 1000, REQUESTS
