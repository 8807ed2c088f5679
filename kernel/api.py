"""REST API conventions shared by every app: pagination, problem-details errors, permissions.

Errors follow RFC 9457: `application/problem+json` with `type`, `title`, `status`,
`detail`, and for validation failures an `errors` list of `{field, code, message}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/docs/#problem-"


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE
    format = "problem+json"


def _flatten(detail: Any, prefix: str = "") -> Iterable[dict[str, str]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            name = f"{prefix}.{field}" if prefix and field else (prefix or field)
            yield from _flatten(value, name)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                yield from _flatten(value, f"{prefix}[{index}]" if prefix else f"[{index}]")
            else:
                yield from _flatten(value, prefix)
    else:
        code = getattr(detail, "code", "invalid")
        yield {"field": prefix or None, "code": str(code), "message": str(detail)}


_TITLES = {
    400: "Invalid request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    428: "Precondition required",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def problem(status_code: int, detail: str, *, code: str | None = None, errors: list | None = None) -> dict:
    slug = code or _TITLES.get(status_code, "error").lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler that answers with RFC 9457 problem details."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = list(_flatten(exc.detail))
        body = problem(response.status_code, "The request has errors; see `errors`.", code="validation", errors=errors)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else None
        body = problem(response.status_code, str(exc.detail), code=code)
    else:  # pragma: no cover - DRF only returns responses for APIException
        body = problem(response.status_code, str(exc))
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(request: HttpRequest, status_code: int, detail: str) -> JsonResponse:
    """A plain-Django problem response, for errors raised outside DRF views under /api/."""
    return JsonResponse(problem(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}

# Answers any operation can give, whatever its view documents for success.
_ALWAYS = (401, 403, 404, 406, 429)
_WITH_INPUT = (400,)
_WITH_BODY = (400, 413, 415)


def problem_responses_hook(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing: document the problem responses of every operation.

    Views document their successes (and their own special errors, e.g. 412/428 for
    versioned writes); the errors every endpoint shares are added here, so clients and the
    schemathesis run (tests/api/test_fuzz.py) know every status the API may answer.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = set(_ALWAYS)
            if operation.get("parameters"):
                codes.update(_WITH_INPUT)
            if operation.get("requestBody"):
                codes.update(_WITH_BODY)
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(str(code), {"description": _TITLES.get(code, "Error"), "content": content})
    return result


__all__ = ["StandardPagination", "problem", "problem_exception_handler", "problem_response", "status"]
