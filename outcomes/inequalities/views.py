"""The inequalities page: an indicator's groups side by side for London, a sub-region or a borough."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from kernel import downloads
from outcomes import dashboards, permissions
from outcomes.breakdowns import breakdown_label
from outcomes.dashboards import format_figure
from outcomes.inequalities import report as reports
from outcomes.inequalities import selectors
from outcomes.models import Indicator, Metric
from stakeholders.models import Area, AreaLevel


@dataclass
class Asked:
    """What a request asks for, read from its parameters; `errors` names each unreadable one."""

    indicator: Indicator | None
    area: Area | None
    areas: list[Area]
    breakdowns: list[str]
    wanted: dt.date | None
    errors: dict[str, str]
    breakdown: str = ""  # the one asked for, "" for every breakdown


def read_request(code: str, params: Any) -> Asked:
    """The indicator, area, breakdowns and period a page or API request asks for (two queries)."""
    errors: dict[str, str] = {}
    indicator = selectors.indicator(code=code).first()
    areas = list(selectors.inequality_areas())
    area_code = (params.get("area") or "").strip().upper()
    if area_code:
        area = next((a for a in areas if a.code == area_code), None)
        if area is None:
            errors["area"] = "No area has this code: give the GSS code of London, an ICS sub-region or a borough."
    else:
        area = next((a for a in areas if a.level == AreaLevel.LONDON), None)
    breakdowns: list[str] = []
    wanted = None
    breakdown = (params.get("breakdown") or "").strip()
    if indicator is not None:
        accepted = list(indicator.breakdowns or [])
        if not breakdown:
            breakdowns = accepted
        elif breakdown in accepted:
            breakdowns = [breakdown]
        else:
            choices = ", ".join(accepted) or "none"
            errors["breakdown"] = f"This indicator is not broken down by {breakdown!r}; it accepts: {choices}."
        period = (params.get("period") or "").strip()
        if period:
            wanted = indicator.parse_period(period)
            if wanted is None:
                errors["period"] = f"Not a period of this indicator: write it as {indicator.period_kind_display}s are."
    return Asked(indicator, area, areas, breakdowns, wanted, errors, breakdown)


def build_report(asked: Asked, basis: str) -> reports.Report:
    """The report the request asks for (two more queries: the area's figures and its gap measures)."""
    assert asked.indicator is not None and asked.area is not None  # noqa: S101 - callers check
    indicator, area = asked.indicator, asked.area
    return reports.build(
        indicator=indicator,
        area=area,
        basis=basis,
        metrics=selectors.area_group_metrics(indicator=indicator, area=area, basis=basis),
        inequalities=selectors.area_inequalities(indicator=indicator, area=area, basis=basis),
        breakdowns=asked.breakdowns,
        wanted=asked.wanted,
    )


def choose_form(asked: Asked, report: reports.Report, basis: str, provisional: bool) -> forms.Form:
    indicator = asked.indicator
    assert indicator is not None  # noqa: S101
    fields: dict[str, forms.Field] = {
        "area": forms.ChoiceField(label="Area", choices=[(a.code, a.name) for a in asked.areas]),
        "breakdown": forms.ChoiceField(
            label="Population groups",
            choices=[("", "Every breakdown"), *((b, breakdown_label(b)) for b in indicator.breakdowns or [])],
            required=False,
        ),
    }
    if report.periods:
        labels = [indicator.period_label(p) for p in reversed(report.periods)]
        fields["period"] = forms.ChoiceField(label="Period", choices=[(p, p) for p in labels], required=False)
    if provisional:
        fields["basis"] = forms.ChoiceField(
            label="Figures", choices=Metric.Basis.choices, widget=forms.RadioSelect, required=False
        )
    form_class = type("InequalitiesForm", (forms.Form,), fields)
    return form_class(
        initial={
            "area": asked.area.code if asked.area else "",
            "breakdown": asked.breakdown,
            "period": report.period,
            "basis": basis,
        }
    )


@require_GET
def inequalities(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, permissions.figures_basis(request.user, request.GET.get("basis", "")))
    return dashboards.cached_page(
        request,
        "inequalities",
        audience,
        lambda: _inequalities(request, code, audience),
        "outcomes/inequalities/inequalities.html",
        dashboards.INEQUALITIES_PARAMETERS,
    )


def _inequalities(request: HttpRequest, code: str, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    asked = read_request(code, request.GET)
    if asked.indicator is None:
        raise Http404("There is no such indicator.")
    if asked.area is None or "area" in asked.errors:
        raise Http404("There is no such area.")
    if "breakdown" in asked.errors:
        raise Http404("This indicator has no such breakdown.")
    if "period" in asked.errors:
        raise Http404("This indicator has no such period.")
    basis = audience.basis
    report = build_report(asked, basis)
    indicator, area = asked.indicator, asked.area
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "json"):
        name = f"inequalities-{indicator.code}-{area.code}-{report.period or 'none'}-{basis}"
        if fmt == "csv":
            text = downloads.csv_text(reports.CSV_HEADER, reports.csv_rows(report))
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(downloads.json_text(reports.document(report)), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response
    if fmt:
        raise BadRequest("This page downloads as format=csv or format=json only.")
    best, worst = reports.best_word(indicator)
    return dashboards.Page(
        "outcomes/inequalities/_inequalities_body.html",
        {
            "form": choose_form(asked, report, basis, audience.basis_choice),
            "indicator": indicator,
            "area": area,
            "basis": basis,
            "report": report,
            "period_missing": asked.wanted is not None and asked.wanted != report.period_start,
            "asked_period": request.GET.get("period", ""),
            "best_word": best,
            "worst_word": worst,
            "difference": lambda value: reports.difference_text(value, indicator),
            "figure": lambda value: format_figure(value, indicator.measure),
            "legend": reports.legend(indicator),
            "computed_at": report.computed_at,
            "not_shown": reports.NOT_SHOWN,
        },
        {"indicator": indicator, "area": area},
    )
