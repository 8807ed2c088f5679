"""Site-wide pages: home, health check, error pages, and the NHS.UK asset path."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from kernel.api import PROBLEM_CONTENT_TYPE, problem_response
from stakeholders.models import Area, AreaLevel, Organisation


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "organisation_count": Organisation.objects.count(),
        "borough_count": Area.objects.filter(level=AreaLevel.BOROUGH).count(),
    }
    return render(request, "home.html", context)


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "accessibility.html", {"contact_email": settings.SUPPORT_EMAIL})


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database readiness for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def nhsuk_asset(request: HttpRequest, path: str) -> HttpResponse:
    """NHS.UK frontend's CSS asks for /assets/...; send it to the collected static copy."""
    return HttpResponsePermanentRedirect(static(f"vendor/nhsuk-frontend/assets/{path}"))


class SchemaView(SpectacularAPIView):
    """/api/schema/: an API call, throttled like the others (it is costly to generate, and scripts read it).

    Its errors (a 429 above all) are problem details in JSON, whatever format was asked for: the
    YAML renderer chosen for the schema would otherwise write the problem as YAML under a JSON type.
    """

    def finalize_response(self, request: Request, response: HttpResponse, *args: object, **kwargs: object):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and hasattr(response, "accepted_renderer"):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = PROBLEM_CONTENT_TYPE
            response.content_type = PROBLEM_CONTENT_TYPE
        return response


class ApiDocsView(SpectacularSwaggerSplitView):
    """/api/docs/: a portal page (header, navigation, a way back) with Swagger UI inside it.

    It is a page, not an API call: never throttled, and it answers HTML. Swagger UI's start-up
    script stays a file served by drf-spectacular at ?script (with the CSRF header name Swagger
    needs for "Try it out"), so the CSP needs no inline script.
    """

    throttle_classes: list[type] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> HttpResponse:
        if request.GET.get("script") is not None:
            return super().get(request, *args, **kwargs)
        context = {
            "nav": "api",
            "swagger_ui_css": self._swagger_ui_resource("swagger-ui.css"),
            "swagger_ui_bundle": self._swagger_ui_resource("swagger-ui-bundle.js"),
            "swagger_ui_standalone": self._swagger_ui_resource("swagger-ui-standalone-preset.js"),
            "script_url": f"{request.path}?script=",
            "schema_url": self._get_schema_url(request),
        }
        return render(request._request, "api_docs.html", context)


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, 404, "No resource at this address.")
    return render(request, "errors/404.html", status=404)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, 403, "You do not have permission to do this.")
    return render(request, "errors/403.html", status=403)


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, 400, "The request could not be understood.")
    return render(request, "errors/400.html", status=400)


def error_500(request: HttpRequest) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, 500, "Something went wrong on our side. It has been logged.")
    return render(request, "errors/500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/403_csrf.html", status=403)
