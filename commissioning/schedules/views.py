"""Pages for reporting schedules and completeness (commissioners and providers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods
from pghistory.models import Events

from commissioning.schedules import permissions, selectors, services
from commissioning.schedules.forms import CompletenessFilterForm, ScheduleForm
from commissioning.schedules.models import ReportingSchedule
from kernel.concurrency import StaleEdit, conflict_rows
from kernel.downloads import csv_text
from kernel.forms import add_service_errors, posted
from kernel.history import history_entries
from outcomes.models import Indicator, period_label
from outcomes.periods import next_period, period_start_of
from stakeholders.models import Area, Organisation

NAV = "commissioning"
HISTORY_LIMIT = 200
CELLS_CSV_HEADER = [
    "provider",
    "borough_code",
    "borough",
    "indicator_code",
    "indicator",
    "period",
    "deadline",
    "state",
    "value_status",
    "last_submitted_at",
]


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_store=True)
    return response


def _percent(value: float | None) -> str:
    return "none due" if value is None else f"{value:.0f}%"


HELPERS = {"nav": NAV, "percent": _percent}


def upcoming(schedule: ReportingSchedule, today: dt.date, count: int = 3) -> list[dict[str, Any]]:
    """The next periods whose deadline is today or later, with their deadline and reminder dates."""
    start = max(
        schedule.first_period,
        period_start_of(schedule.period_type, today - dt.timedelta(days=schedule.deadline_days + 370)),
    )
    rows = []
    while len(rows) < count:
        deadline = schedule.deadline(start)
        if deadline >= today:
            rows.append(
                {
                    "period": period_label(schedule.period_type, start),
                    "deadline": deadline,
                    "reminder": deadline - dt.timedelta(days=schedule.reminder_days),
                }
            )
        start = next_period(schedule.period_type, start)
    return rows


# Schedules ---------------------------------------------------------------------------------


@login_required
@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    schedules = list(selectors.schedules_for(request.user))
    return _private(
        render(
            request,
            "commissioning/schedules/list.html",
            {
                "schedules": schedules,
                "can_create": permissions.can_create_schedule(request.user),
                "can_view_completeness": permissions.can_view_completeness(request.user),
                **HELPERS,
            },
        )
    )


def _form(request: HttpRequest, data: QueryDict | None, schedule: ReportingSchedule | None = None, **kw: Any):
    return ScheduleForm(
        data, commissioners=permissions.schedule_commissioner_choices(request.user), schedule=schedule, **kw
    )


@login_required
@require_http_methods(["GET", "POST"])
def schedule_create(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_create_schedule(request.user))
    form = _form(request, posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            schedule = services.schedule_create(actor=request.user, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule “{schedule.name}” created. {schedule.provider.name} can see it now.")
            return redirect(schedule)
    return render(request, "commissioning/schedules/form.html", {"form": form, "schedule": None, **HELPERS})


@login_required
@require_GET
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = permissions.get_schedule_for_user_or_404(request.user, pk)
    scope = permissions.completeness_scope(request.user)
    result = selectors.completeness(scope, selectors.Filters(schedule=schedule.pk)) if scope else None
    return _private(
        render(
            request,
            "commissioning/schedules/detail.html",
            {
                "schedule": schedule,
                "indicators": list(schedule.indicators.order_by("name")),
                "boroughs": list(schedule.boroughs.order_by("name")),
                "upcoming": upcoming(schedule, timezone.localdate()),
                "result": result,
                "reminders": selectors.recent_reminders(schedule),
                "can_manage": permissions.can_manage_schedule(request.user, schedule),
                **HELPERS,
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = permissions.get_schedule_for_user_or_404(request.user, pk, write=True)
    form = _form(request, posted(request), schedule, initial=ScheduleForm.initial_for(schedule))
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or schedule.version
        try:
            services.schedule_update(
                actor=request.user, schedule=schedule, expected_version=expected, **form.service_values()
            )
        except StaleEdit as exc:
            current = exc.current
            rows = conflict_rows(form, current, fields=[f for f in form.fields if f != "first_period"])
            data = request.POST.copy()
            data["version"] = str(current.version)
            again = _form(request, data, schedule)
            return render(
                request,
                "commissioning/schedules/form.html",
                {"form": again, "schedule": current, "conflict_rows": rows, "current": current, **HELPERS},
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule “{schedule.name}” saved.")
            return redirect(schedule)
    return render(request, "commissioning/schedules/form.html", {"form": form, "schedule": schedule, **HELPERS})


@login_required
@require_GET
def schedule_history(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = permissions.get_schedule_for_user_or_404(request.user, pk)
    # The schedule's own events and those of its indicator and borough lines (removed ones included).
    events = Events.objects.references(schedule).order_by("-pgh_created_at", "-pgh_id")[:HISTORY_LIMIT]
    return _private(
        render(
            request,
            "commissioning/schedules/history.html",
            {"schedule": schedule, "entries": history_entries(events), **HELPERS},
        )
    )


# Completeness ------------------------------------------------------------------------------


def _filter_choices(scope: permissions.CompletenessScope) -> dict[str, list[tuple[int, str]]]:
    """What the filters offer: the providers, boroughs and indicators of schedules in scope (three queries)."""
    schedules = ReportingSchedule.objects.filter(is_active=True)
    boroughs = Area.objects.all()
    if not scope.everything:
        schedules = schedules.filter(
            Q(provider__in=scope.provider_ids) | Q(borough_links__borough__in=scope.borough_ids)
        )
        boroughs = boroughs.filter(
            Q(pk__in=scope.borough_ids) | Q(reporting_schedules__provider__in=scope.provider_ids)
        )
    ids = schedules.values("pk")
    return {
        "providers": list(
            Organisation.objects.filter(reporting_schedules__in=ids)
            .distinct()
            .order_by("name")
            .values_list("pk", "name")
        ),
        "boroughs": list(
            boroughs.filter(reporting_schedules__in=ids).distinct().order_by("name").values_list("pk", "name")
        ),
        "indicators": list(
            Indicator.objects.filter(reporting_schedules__in=ids).distinct().order_by("name").values_list("pk", "name")
        ),
    }


def _filters(form: CompletenessFilterForm) -> selectors.Filters:
    if not form.is_valid():
        return selectors.Filters()
    data = form.cleaned_data
    return selectors.Filters(
        provider=data.get("provider"),
        borough=data.get("borough"),
        indicator=data.get("indicator"),
        period_from=data.get("period_from"),
        period_to=data.get("period_to"),
    )


@login_required
@require_GET
def completeness(request: HttpRequest) -> HttpResponse:
    scope = permissions.completeness_scope(request.user)
    permissions.require(scope is not None)
    form = CompletenessFilterForm(request.GET or None, **_filter_choices(scope))
    filters = _filters(form)
    result = selectors.completeness(scope, filters)
    return _private(
        render(
            request,
            "commissioning/schedules/completeness.html",
            {
                "form": form,
                "result": result,
                "csv_query": request.GET.urlencode(),
                "sees_everything": scope.everything,
                **HELPERS,
            },
        )
    )


@login_required
@require_GET
def completeness_csv(request: HttpRequest) -> HttpResponse:
    scope = permissions.completeness_scope(request.user)
    permissions.require(scope is not None)
    form = CompletenessFilterForm(request.GET or None, **_filter_choices(scope))
    cells = selectors.completeness_cells(scope, _filters(form))
    rows = (
        [
            c.provider,
            c.borough_code,
            c.borough,
            c.indicator_code,
            c.indicator,
            c.period,
            c.deadline.isoformat(),
            c.state,
            c.value_status or "",
            timezone.localtime(c.submitted_at).isoformat(timespec="seconds") if c.submitted_at else "",
        ]
        for c in cells
    )
    response = HttpResponse(csv_text(CELLS_CSV_HEADER, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="reporting-completeness.csv"'
    return _private(response)
