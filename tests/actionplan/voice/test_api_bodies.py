"""A body that is not one JSON object is a 400 problem, not a server error (found by schemathesis)."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("endpoint", ["/api/v1/comments/", "/api/v1/follows/"])
@pytest.mark.parametrize("body", [[], [{"plan": "x"}], 7, "plan"])
def test_a_list_or_a_scalar_body_is_refused_with_400(client_for, service_user, endpoint, body):
    response = client_for(service_user).post(endpoint, data=json.dumps(body), content_type="application/json")
    assert_problem(response, 400)
