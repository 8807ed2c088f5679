"""Shared assertions for API tests."""

from __future__ import annotations

import json

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["type"].startswith("/api/docs/#problem-")
    assert body["title"]
    assert body["detail"]
    return body


def field_errors(body: dict) -> dict[str | None, list[str]]:
    """{field: [codes]} from a validation problem's `errors` list."""
    found: dict[str | None, list[str]] = {}
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}
        assert error["message"]
        found.setdefault(error["field"], []).append(error["code"])
    return found
