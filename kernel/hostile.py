"""Hostile bytes get a clear 4xx, never a 500 (issue 25, part 3).

PostgreSQL cannot store or compare text holding a NUL character (``\\x00``): a query
with one raises ``ValueError`` in psycopg, which surfaced as 500 wherever a URL part,
query parameter or JSON string reached a lookup (a plan slug, an area code). The rule
is enforced in two central places rather than field by field:

- :class:`HostileInputMiddleware` answers 404 for a path with a NUL (no page has such
  an address), 400 for a query string or form field with one, and 411 for a body sent
  with ``Transfer-Encoding: chunked`` and no ``Content-Length``: Django reads a request
  body only up to its Content-Length, so such a body would silently read as empty
  ("The file is empty") - the sender is told to send the length instead.
- :class:`SafeJSONParser` (the API's JSON parser) answers 400 for a JSON document that
  holds a NUL in any key or string, and for one nested too deeply to parse
  (``RecursionError``), instead of a 500. :func:`check_json` is shared with the
  submissions API's own JSON parser.

Django's and DRF's CharFields already refuse NUL in form and serializer text fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

NUL = "\x00"

CHUNKED_DETAIL = (
    "Send the body with a Content-Length header. This request used Transfer-Encoding: chunked "
    "without one, and the portal reads a body only up to its stated length, so it would have "
    "read nothing (curl: use --data-binary @file rather than -T or a pipe)."
)


def _has_nul(data: Any) -> bool:
    """True when a NUL is in any string or key of decoded JSON (iterative: no recursion limit)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            for key, value in item.items():
                if NUL in key:
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_json(data: Any) -> Any:
    """Refuse decoded JSON holding a NUL character (400); returns ``data``."""
    if _has_nul(data):
        raise exceptions.ParseError("The body holds a NUL character (\\u0000), which no field may contain.")
    return data


def loads(raw: bytes | str, **kwargs: Any) -> Any:
    """``json.loads`` that answers 400 (ParseError) for invalid, too deeply nested or NUL-holding JSON."""
    try:
        data = json.loads(raw, **kwargs)
    except RecursionError:
        raise exceptions.ParseError("The body is nested too deeply to read; send at most a few levels.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None
    return check_json(data)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for deep nesting and for NUL characters."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("The body is nested too deeply to read; send at most a few levels.") from None
        return check_json(data)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class HostileInputMiddleware:
    """404 for a NUL in the path, 400 for one in the query or a form field, 411 for a chunked body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info or NUL in request.path:
            raise Http404("No page has a NUL character in its address.")
        if _nul_in_query(request):
            raise BadRequest("The address holds a NUL character (%00), which no parameter may contain.")
        if _chunked_without_length(request):
            return _length_required(request)
        if _nul_in_form(request):
            raise BadRequest("The form holds a NUL character, which no field may contain.")
        return self.get_response(request)


def _nul_in_query(request: HttpRequest) -> bool:
    if "%00" not in request.META.get("QUERY_STRING", "") and NUL not in request.META.get("QUERY_STRING", ""):
        return False
    return any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists())


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_in_form(request: HttpRequest) -> bool:
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return False
    return any(NUL in key or any(NUL in v for v in values) for key, values in request.POST.lists())


def _chunked_without_length(request: HttpRequest) -> bool:
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and not request.META.get("CONTENT_LENGTH")


def _length_required(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        from kernel.api import problem_response

        return problem_response(request, 411, CHUNKED_DETAIL)
    return HttpResponse(CHUNKED_DETAIL, status=411, content_type="text/plain; charset=utf-8")


__all__ = ["CHUNKED_DETAIL", "HostileInputMiddleware", "SafeJSONParser", "check_json", "loads"]
