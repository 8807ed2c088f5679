"""Every request a test makes is served as a strict WSGI server would serve it.

Django's test Client (and DRF's APIClient, whose handler is a ClientHandler) calls the portal
without a server between them: a header value that is a str subclass (DRF's Hyperlink, a lazy
translation), a body chunk that is not bytes or a Content-Type on a 204 reaches the test as if
nothing were wrong, while wsgiref (runserver) answers 500 and other servers refuse or mangle it.
Here each request goes through `wsgiref.validate.validator` around the same handler, with the
status line and header list built exactly as Django's WSGIHandler builds them, so such a
response fails the test that made it. `install()` is called once per session by tests/conftest.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.validate import WSGIWarning, validator

from django.http import HttpResponseBase
from django.test.client import ClientHandler

_PLAIN_CALL = ClientHandler.__call__


class _ConformingInput:
    """The test client's FakePayload, with the two methods PEP 3333 asks of wsgi.input and it lacks."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def read(self, size: int = -1, /) -> bytes:
        return self.payload.read(size)

    def readline(self, size: int = -1, /) -> bytes:
        return self.payload.readline(size)

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        return list(iter(self.payload.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.payload.readline, b"")


def status_line(response: HttpResponseBase) -> str:
    return f"{response.status_code} {response.reason_phrase}"


def header_list(response: HttpResponseBase) -> list[tuple[str, str]]:
    # As django.core.handlers.wsgi.WSGIHandler.__call__ hands them to the server.
    return [
        *response.items(),
        *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
    ]


def _body(response: HttpResponseBase) -> list[bytes]:
    if not response.streaming:
        return list(response)
    if response.is_async:
        return []  # the sync test client cannot iterate it here; its headers are still checked
    # Read the stream once and hand the test the same chunks: it may read the body after us.
    chunks = list(response.streaming_content)
    response.streaming_content = chunks
    return chunks


def _check_content_length(response: HttpResponseBase, body: list[bytes]) -> None:
    declared = response.get("Content-Length")
    if declared is None or response.wsgi_request.method == "HEAD":
        return
    sent = sum(len(chunk) for chunk in body if isinstance(chunk, bytes))
    assert int(declared) == sent, f"Content-Length {declared} but the body has {sent} bytes"


def conforming_call(handler: ClientHandler, environ: dict[str, Any]) -> HttpResponseBase:
    responses: list[HttpResponseBase] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = _PLAIN_CALL(handler, environ)
        responses.append(response)
        start_response(status_line(response), header_list(response))
        body = _body(response)
        _check_content_length(response, body)
        return body

    environ["wsgi.input"] = _ConformingInput(environ["wsgi.input"])
    with warnings.catch_warnings():
        # The validator only warns about a status line without a reason phrase: make it fail too.
        warnings.simplefilter("error", WSGIWarning)
        result = validator(app)(environ, lambda status, headers, exc_info=None: lambda data: None)
        try:
            for _chunk in result:
                pass
        finally:
            result.close()
    return responses[0]


def install() -> Callable[[], None]:
    """Route every test client's requests through the validator; returns the undo."""
    ClientHandler.__call__ = conforming_call

    def undo() -> None:
        ClientHandler.__call__ = _PLAIN_CALL

    return undo
