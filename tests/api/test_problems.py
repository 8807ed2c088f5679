"""Every API error is an RFC 9457 problem (application/problem+json), in and outside DRF views."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.throttling import AnonRateThrottle

from londonmh import views
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_an_unknown_api_address_is_a_problem_not_an_html_page(client, settings):
    assert settings.DEBUG is False  # the handler404 path, as in production
    body = assert_problem(client.get("/api/v1/nope/"), 404)
    assert body["title"] == "Not found"
    assert_problem(client.get("/api/nothing-here/"), 404)


def test_an_unknown_page_outside_the_api_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_missing_object_is_a_problem_with_a_type_per_error(client):
    body = assert_problem(client.get("/api/v1/organisations/nope/"), 404)
    assert body["type"] == "/api/docs/#problem-not_found"


def test_a_wrong_method_is_a_problem(client_for, staff):
    body = assert_problem(client_for(staff).put("/api/v1/me/", {}, content_type="application/json"), 405)
    assert body["title"] == "Method not allowed"


def test_malformed_json_is_a_problem(client_for, staff):
    response = client_for(staff).post("/api/v1/organisations/", "{not json", content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_an_unsupported_media_type_is_a_problem(client_for, staff):
    response = client_for(staff).post("/api/v1/organisations/", "<org/>", content_type="application/xml")
    assert_problem(response, 415)


def test_validation_problems_list_field_code_and_message(client_for, staff):
    response = client_for(staff).post("/api/v1/organisations/", {"type": "nonsense"}, content_type="application/json")
    body = assert_problem(response, 400)
    assert body["type"] == "/api/docs/#problem-validation"
    assert sorted((e["field"], e["code"]) for e in body["errors"]) == [("name", "required"), ("type", "invalid_choice")]
    assert all(e["message"] for e in body["errors"])


def test_too_many_anonymous_requests_is_a_problem_with_retry_after(client, monkeypatch):
    # The configured rate (120/minute) is read at import; a lower one keeps the test short.
    monkeypatch.setattr(AnonRateThrottle, "rate", "3/minute", raising=False)
    for _ in range(3):
        assert client.get("/api/v1/boroughs/").status_code == 200
    response = client.get("/api/v1/boroughs/")
    body = assert_problem(response, 429)
    assert body["title"] == "Too many requests"
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("handler", "status"),
    [(views.error_400, 400), (views.error_403, 403), (views.error_404, 404)],
)
def test_django_error_handlers_answer_api_paths_with_problems(handler, status):
    request = RequestFactory().get("/api/v1/anything/")
    assert_problem(handler(request, Exception()), status)


def test_the_server_error_handler_answers_api_paths_with_a_problem():
    response = views.error_500(RequestFactory().get("/api/v1/anything/"))
    body = assert_problem(response, 500)
    assert body["title"] == "Server error"
    assert "logged" in body["detail"]
