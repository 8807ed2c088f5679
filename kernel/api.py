"""REST API conventions shared by every app: pagination, problem-details errors, permissions.

Errors follow RFC 9457: `application/problem+json` with `type`, `title`, `status`,
`detail`, and for validation failures an `errors` list of `{field, code, message}`.

Views call services without try/except: the exception handler answers a service's Django
`ValidationError` with 400 and its field errors, and a stale edit (`StaleEdit`) with 412 and
the record's current ETag, as it answers DRF's own exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from kernel.concurrency import PreconditionFailed, StaleEdit, etag_for, expected_version_from_request

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/docs/#problem-"


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


# Problem details and ETags, as every app's API documents and sends them ---------------------


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: every error response of this API has this shape."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ProblemFieldErrorSerializer(many=True, required=False)


PROBLEM_DESCRIPTIONS = {
    400: "Invalid request (problem details with the field errors).",
    401: "Not signed in.",
    403: "Signed in but not allowed.",
    404: "Not found, or not yours to see.",
    412: "Stale: the resource changed since your ETag. GET it again and re-apply your change.",
    413: "The body is larger than OUTCOMES_MAX_UPLOAD_BYTES.",
    415: "The body is neither text/csv nor application/json.",
    428: "If-Match is missing.",
}


def problems(*codes: int) -> dict[Any, Any]:
    """The schema's error responses of an operation: problem details, described by status."""
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=PROBLEM_DESCRIPTIONS[code])
        for code in codes
    }


# A write to a versioned record (kernel.concurrency) sends the ETag of its last GET.
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag from your last GET of this resource, e.g. "v3". Missing: 428; stale: 412.',
)


def with_etag(response: Response, instance: Any) -> Response:
    """The response carrying the versioned record's ETag, for the client's next write."""
    response["ETag"] = etag_for(instance)
    return response


# Versioned resources: one way to read, change and delete them ------------------------------


class VersionedRetrieveMixin:
    """GET one versioned record with its ETag (`"v<version>"`), for the client's next write."""

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        return with_etag(Response(self.get_serializer(instance).data), instance)  # type: ignore[attr-defined]

    def fresh(self, instance: Any) -> Any:
        """The record read back after a write, as GET reads it (its joins and prefetches)."""
        return self.get_object()  # type: ignore[attr-defined]


class VersionedUpdateMixin(VersionedRetrieveMixin):
    """PATCH a versioned record: If-Match first (428 without it), then the body, then the service.

    The viewset's `versioned_update(instance, data, expected_version)` calls its service with
    the serializer's validated data, returning the record (or None to read it again); a stale
    If-Match comes back from the service as `StaleEdit`, which the exception handler answers
    with 412 and the current ETag. Permission to write is `get_object`'s question (as for
    every unsafe method), so it is answered first.
    """

    def versioned_update(self, instance: Any, data: dict[str, Any], expected_version: int) -> Any:
        raise NotImplementedError  # each viewset says which service writes

    def check_write(self, instance: Any) -> None:
        """Refuse (PermissionDenied) before anything else when `get_object` alone does not."""

    def write_serializer(self, instance: Any, data: Any) -> Any:
        """The serializer that parses the PATCH body (the viewset's own, partial, by default)."""
        return self.get_serializer(instance, data=data, partial=True)  # type: ignore[attr-defined]

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        self.check_write(instance)
        expected = expected_version_from_request(request)
        serializer = self.write_serializer(instance, request.data)
        serializer.is_valid(raise_exception=True)
        updated = self.versioned_update(instance, dict(serializer.validated_data), expected)
        instance = self.fresh(instance if updated is None else updated)
        return with_etag(Response(self.get_serializer(instance).data), instance)  # type: ignore[attr-defined]

    def partial_update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)


class VersionedDestroyMixin:
    """DELETE a versioned record with If-Match; `versioned_destroy(instance, expected_version)` does it."""

    def versioned_destroy(self, instance: Any, expected_version: int) -> None:
        raise NotImplementedError

    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        expected = expected_version_from_request(request)
        self.versioned_destroy(instance, expected)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


def api_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A service's Django ValidationError as DRF's, field by field (problem details with `errors`)."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def precondition_failed(exc: StaleEdit) -> PreconditionFailed:
    """A stale edit as 412, naming the record's current ETag."""
    return PreconditionFailed(f"{exc} The current ETag is {etag_for(exc.current)}.")


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler that answers with RFC 9457 problem details.

    Beside DRF's own exceptions it answers a service's ValidationError (400) and StaleEdit (412).
    """
    if isinstance(exc, DjangoValidationError):
        exc = api_validation_error(exc)
    elif isinstance(exc, StaleEdit):
        exc = precondition_failed(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)  # a service's reason, when it gave one
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
