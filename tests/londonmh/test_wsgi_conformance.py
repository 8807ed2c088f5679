"""The test clients serve every request through wsgiref's validator (tests/wsgi_conformance.py).

These views make the faults a real WSGI server refuses; each must fail the request in a test,
as POST /api/v1/submissions/ once answered 500 under `make run` with every test passing.
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from rest_framework.relations import Hyperlink


def a_str_subclass_header(request):
    response = HttpResponse("ok", content_type="text/plain")
    response["Location"] = Hyperlink("http://testserver/somewhere/", None)
    return response


def a_content_type_on_204(request):
    return HttpResponse(status=204, content_type="text/plain")


def a_wrong_content_length(request):
    response = HttpResponse("four", content_type="text/plain")
    response["Content-Length"] = "40"
    return response


def a_good_stream(request):
    return StreamingHttpResponse(iter([b"a,b\n", "1,2\n"]), content_type="text/csv")


def a_plain_page(request):
    return HttpResponse("fine", content_type="text/plain")


urlpatterns = [
    path("hyperlink/", a_str_subclass_header),
    path("no-content/", a_content_type_on_204),
    path("short/", a_wrong_content_length),
    path("stream/", a_good_stream),
    path("plain/", a_plain_page),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("/hyperlink/", "Header value must be of type str"),
        ("/no-content/", "Content-Type header found in a 204 response"),
        ("/short/", "Content-Length 40 but the body has 4 bytes"),
    ],
)
def test_a_response_a_strict_server_would_refuse_fails_the_test(client, url, fault):
    with pytest.raises(AssertionError, match=fault):
        client.get(url)


def test_an_api_client_request_is_checked_too(client):
    from rest_framework.test import APIClient

    with pytest.raises(AssertionError, match="Header value must be of type str"):
        APIClient().get("/hyperlink/")


def test_a_conforming_response_reaches_the_test_unchanged(client):
    response = client.post("/plain/", {"a": "b"})
    assert response.status_code == 200 and response.content == b"fine"


def test_a_streamed_body_is_checked_and_still_readable_by_the_test(client):
    response = client.get("/stream/")
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
