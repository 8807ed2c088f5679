"""Site-wide pages: home, health check, error pages, and the NHS.UK asset path."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from londonmh.api import problem_response
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
