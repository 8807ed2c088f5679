"""Hostile bytes get a clear 4xx, never a 500 (issue 25, part 3; kernel.hostile)."""

from __future__ import annotations

import json

import pytest

from actionplan.models import Comment, Follow
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _post_json(client, url, body: str, **extra):
    return client.post(url, body, content_type="application/json", **extra)


@pytest.mark.parametrize("url", ["/api/v1/comments/", "/api/v1/follows/"])
def test_a_nul_byte_in_a_json_field_is_a_400_not_a_500(client_for, service_user, url):
    response = _post_json(client_for(service_user), url, json.dumps({"plan": "a\x00b", "body": "Hello"}))
    body = assert_problem(response, 400)
    assert "NUL" in body["detail"]
    assert not Comment.objects.exists() and not Follow.objects.exists()


def test_a_nul_byte_in_a_json_key_is_a_400(client_for, service_user):
    response = _post_json(client_for(service_user), "/api/v1/comments/", '{"pl\\u0000an": "x", "body": "Hello"}')
    assert_problem(response, 400)


@pytest.mark.parametrize("url", ["/areas/%00/", "/dashboards/areas/%00/", "/plans/%00/", "/areas/E09%00/"])
def test_a_nul_byte_in_an_address_is_a_404(client, url):
    assert client.get(url).status_code == 404


def test_a_nul_byte_in_an_api_address_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/plans/%00/"), 404)


@pytest.mark.parametrize("url", ["/plans/?q=%00", "/api/v1/plans/?search=a%00b"])
def test_a_nul_byte_in_a_query_parameter_is_a_400(client, url):
    assert client.get(url).status_code == 400


def test_a_nul_byte_in_a_form_field_is_a_400(client_for, service_user):
    response = client_for(service_user).post("/account/profile/", {"display_name": "Sky\x00"})
    assert response.status_code == 400


def test_json_nested_a_hundred_thousand_levels_is_a_clear_400(client_for, provider):
    deep = "[" * 100_000 + "]" * 100_000
    response = _post_json(client_for(provider), "/api/v1/submissions/", deep)
    body = assert_problem(response, 400)
    assert "nested too deeply" in body["detail"]


def test_deep_json_to_any_api_write_is_a_400(client_for, service_user):
    deep = '{"plan": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert_problem(_post_json(client_for(service_user), "/api/v1/comments/", deep), 400)


def test_a_chunked_csv_without_a_length_is_411_saying_why(client_for, provider):
    response = client_for(provider).post(
        "/api/v1/submissions/",
        b"indicator_code,borough_code,period,numerator\n",
        content_type="text/csv",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    body = assert_problem(response, 411)
    assert "Content-Length" in body["detail"] and "chunked" in body["detail"]
    assert body["title"] == "Length required"


def test_a_chunked_form_post_is_411_in_plain_words(client_for, service_user):
    response = client_for(service_user).post(
        "/account/profile/",
        b"display_name=Sky",
        content_type="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()
