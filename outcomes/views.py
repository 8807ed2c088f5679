"""Pages for the indicator catalogue, submitting data (web form and CSV), import reports and review."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.html import json_script
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kernel import downloads, numbers
from kernel.cache import code_version
from kernel.forms import add_service_errors
from outcomes import dashboards, ingest, permissions, selectors, services
from outcomes.aggregation import metrics_generation
from outcomes.breakdowns import breakdown_label, groups_for
from outcomes.forms import (
    ANY_STATUS,
    REVIEW_ACTIONS,
    GridChoiceForm,
    GridForm,
    IndicatorFilterForm,
    IndicatorForm,
    PopulationUploadForm,
    ReviewForm,
    TemplateForm,
    UploadForm,
    ValueFilterForm,
    describe_group,
)
from outcomes.models import (
    Door,
    Indicator,
    Metric,
    Submission,
    SubmissionIssue,
    ValueStatus,
    previous_period,
)
from outcomes.statistics import NOT_COMPARED_REASON, is_comparable
from stakeholders.models import AreaLevel

CATALOGUE_PAGE_SIZE = 20
SUBMISSIONS_PAGE_SIZE = 20
ISSUES_PAGE_SIZE = 100
VALUES_PAGE_SIZE = 50
REVIEW_PAGE_SIZE = 50

VALUE_STATUS_COLOURS = {
    ValueStatus.SUBMITTED: "blue",
    ValueStatus.APPROVED: "green",
    ValueStatus.QUERIED: "orange",
    ValueStatus.REJECTED: "red",
}
SUBMISSION_STATUS_COLOURS = {
    "queued": "grey",
    "running": "blue",
    "completed": "green",
    "rejected": "red",
    "failed": "red",
}
# Helpers the value tables use.
TABLE_HELPERS = {
    "figure": selectors.value_figure,
    "number": numbers.format_number,
    "value_colours": VALUE_STATUS_COLOURS,
    "submission_colours": SUBMISSION_STATUS_COLOURS,
}


def _posted(request: HttpRequest, files: bool = False) -> Any:
    """Form data for a POST (even an empty one, so its errors show), None otherwise."""
    if request.method != "POST":
        return None
    return request.FILES if files else request.POST


def _require_submitter(request: HttpRequest) -> None:
    permissions.require(permissions.can_submit(request.user))


# Catalogue ------------------------------------------------------------------------------


@require_GET
def indicator_list(request: HttpRequest) -> HttpResponse:
    form = IndicatorFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.indicator_list(
        q=filters.get("q", ""), measure=filters.get("measure", ""), period_type=filters.get("period_type", "")
    )
    page = Paginator(qs, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "outcomes/indicator_list.html",
        {
            "form": form,
            "page": page,
            "can_manage": permissions.can_manage_catalogue(request.user),
            "can_manage_populations": permissions.can_manage_populations(request.user),
        },
    )


@require_GET
def indicator_detail(request: HttpRequest, code: str) -> HttpResponse:
    indicator = get_object_or_404(selectors.indicator_detail(code=code, with_priority_areas=True))
    return render(
        request,
        "outcomes/indicator_detail.html",
        {
            "indicator": indicator,
            "can_manage": permissions.can_manage_catalogue(request.user),
            "breakdowns": [
                {"code": b, "label": breakdown_label(b), "groups": groups_for(b, indicator.age_bands)}
                for b in indicator.breakdowns
            ],
        },
    )


def _indicator_form_page(request: HttpRequest, indicator: Indicator) -> HttpResponse:
    permissions.require(permissions.can_manage_catalogue(request.user))
    is_new = indicator.pk is None
    form = IndicatorForm(_posted(request), instance=indicator)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.indicator_save(actor=request.user, indicator=form.save(commit=False))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Indicator '{saved.name}' {'created' if is_new else 'saved'}.")
            return redirect(saved)
    return render(request, "outcomes/indicator_form.html", {"form": form, "indicator": indicator, "is_new": is_new})


@login_required
@require_http_methods(["GET", "POST"])
def indicator_create(request: HttpRequest) -> HttpResponse:
    return _indicator_form_page(request, Indicator())


@login_required
@require_http_methods(["GET", "POST"])
def indicator_edit(request: HttpRequest, code: str) -> HttpResponse:
    indicator = get_object_or_404(Indicator, code=code)
    return _indicator_form_page(request, indicator)


# Submitting -----------------------------------------------------------------------------


@login_required
@require_GET
def data_hub(request: HttpRequest) -> HttpResponse:
    _require_submitter(request)
    organisations = list(selectors.hub_organisations(user=request.user))
    page = Paginator(selectors.submission_list(user=request.user), SUBMISSIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "outcomes/data_hub.html",
        {"organisations": organisations, "page": page, **TABLE_HELPERS},
    )


GRID_KEYS = ("organisation", "indicator", "period")


@login_required
@require_http_methods(["GET", "POST"])
def data_form(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET, no choice yet): organisation, indicator, period. Step 2: the grid of boroughs."""
    _require_submitter(request)
    bound = any(request.GET.get(k) for k in GRID_KEYS)
    choice = GridChoiceForm(
        request.GET if bound else None,
        organisations=permissions.submitting_organisations(request.user),
        indicators=selectors.active_indicators(),
        today=timezone.localdate(),
    )
    if not choice.is_valid():
        return render(request, "outcomes/data_form_choose.html", {"choice": choice})
    organisation = choice.cleaned_data["organisation"]
    indicator = choice.cleaned_data["indicator"]
    period = choice.cleaned_data["period"]
    boroughs = list(selectors.organisation_boroughs(organisation=organisation))
    breakdown, group = choice.cleaned_data["breakdown"], choice.cleaned_data["population_group"]
    current, previous = selectors.grid_values(
        organisation=organisation,
        indicator=indicator,
        period_start=choice.cleaned_data["period_start"],
        breakdown=breakdown,
        group=group,
    )
    grid = GridForm(_posted(request), boroughs=boroughs, indicator=indicator, current=current)
    outcome = None
    if request.method == "POST" and grid.is_valid():
        # Every row of the grid goes in, blank ones as empty rows, so that row n of the
        # report is the n-th borough on the page.
        submission = services.submission_create(
            actor=request.user,
            organisation=organisation,
            door=Door.FORM,
            rows=[
                {
                    "indicator_code": indicator.code,
                    "borough_code": row["borough_code"],
                    "period": period,
                    "numerator": row["numerator"],
                    "denominator": row["denominator"] if indicator.needs_denominator else "",
                    "note": row["note"],
                    "breakdown": breakdown,
                    "group": group,
                }
                if row
                else {}
                for row in grid.grid_rows()
            ],
            filename=selectors.form_submission_filename(
                indicator,
                period,
                [b.short_code for b in boroughs],
                group=describe_group(breakdown, group) if breakdown else "",
            ),
            atomic=grid.cleaned_data["atomic"],
            amend_approved=grid.cleaned_data["amend_approved"],
        )
        if submission.status == Submission.Status.COMPLETED and not submission.rejected_count:
            return redirect(submission)
        # Rejected rows come back here as typed, each problem beside its input; the rows
        # without errors were saved unless the person chose all or nothing.
        outcome = {
            "submission": submission,
            "rows_in_error": grid.add_row_issues(
                selectors.submission_issues(submission=submission, severity=SubmissionIssue.Severity.ERROR)
            ),
            "saved": submission.created_count + submission.updated_count,
        }
        if submission.status == Submission.Status.FAILED:
            grid.add_error(None, submission.message)
        current, previous = selectors.grid_values(
            organisation=organisation,
            indicator=indicator,
            period_start=choice.cleaned_data["period_start"],
            breakdown=breakdown,
            group=group,
        )
    previous_label = indicator.period_label(previous_period(indicator.period_type, choice.cleaned_data["period_start"]))
    grid_rows = [
        {
            "borough": b,
            "num": grid[f"num_{b.short_code}"],
            "den": grid[f"den_{b.short_code}"] if indicator.needs_denominator else None,
            "note": grid[f"note_{b.short_code}"],
            "current": current.get(b.pk),
            "previous": previous.get(b.pk),
        }
        for b in boroughs
    ]
    return render(
        request,
        "outcomes/data_form_grid.html",
        {
            "choice": choice,
            "grid": grid,
            "grid_rows": grid_rows,
            "organisation": organisation,
            "indicator": indicator,
            "period": period,
            "previous_label": previous_label,
            "has_approved": any(v.status == ValueStatus.APPROVED for v in current.values()),
            "outcome": outcome,
            "period_description": indicator.period_description(choice.cleaned_data["period_start"]),
            "group_label": describe_group(breakdown, group),
            "query": request.GET.urlencode(),
            **TABLE_HELPERS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def data_upload(request: HttpRequest) -> HttpResponse:
    _require_submitter(request)
    form = UploadForm(
        _posted(request),
        _posted(request, files=True),
        organisations=permissions.submitting_organisations(request.user),
    )
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            submission = services.submission_create(
                actor=request.user,
                organisation=form.cleaned_data["organisation"],
                door=Door.CSV,
                stream=upload,
                filename=upload.name or "",
                dry_run=form.cleaned_data["dry_run"],
                atomic=form.cleaned_data["atomic"],
                amend_approved=form.cleaned_data["amend_approved"],
                # A trial run keeps the file, so that a clean one is submitted with one button.
                keep_file=form.cleaned_data["dry_run"],
            )
            return redirect(submission)
        if form.too_large:
            return render(request, "outcomes/data_upload.html", _upload_context(request, form), status=413)
    return render(request, "outcomes/data_upload.html", _upload_context(request, form))


def _upload_context(request: HttpRequest, form: UploadForm) -> dict[str, Any]:
    return {
        "form": form,
        "template_form": TemplateForm(
            organisations=permissions.submitting_organisations(request.user),
            indicators=selectors.active_indicators(),
        ),
    }


@login_required
@require_GET
def data_template(request: HttpRequest) -> HttpResponse:
    """A CSV template ready to fill in: the organisation's boroughs, the indicator's latest period
    that has ended, the numerator and denominator empty. Every active indicator without ?indicator=.

    ?organisation= (an id) must be one the user submits for (else 404, like an unknown indicator);
    without it, the user's first organisation by name.
    """
    _require_submitter(request)
    form = TemplateForm(
        request.GET,
        organisations=permissions.submitting_organisations(request.user),
        indicators=selectors.active_indicators(),
    )
    if not form.is_valid():
        raise Http404("There is no such organisation or indicator for you.")
    organisation = form.cleaned_data["organisation"]
    chosen = form.cleaned_data["indicator"]
    indicators = [chosen] if chosen else list(selectors.active_indicators())
    today = timezone.localdate()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((*ingest.REQUIRED_COLUMNS, "note", *ingest.GROUP_COLUMNS))
    writer.writerows(selectors.template_rows(organisation=organisation, indicators=indicators, today=today))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"outcomes-{organisation.slug}-{chosen.code if chosen else 'all-indicators'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# Import reports ---------------------------------------------------------------------------


def _progress(submission: Any) -> dict[str, Any]:
    progress = ingest.read_progress(submission.pk) or {}
    total = submission.total_rows
    done = max(int(progress.get("done") or 0), submission.processed_rows)
    percent = min(100, round(100 * done / total)) if total else 0
    return {"done": done, "total": total, "percent": percent, "stage": progress.get("stage", "")}


@login_required
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = permissions.get_submission_for_user_or_404(request.user, pk)
    return render(request, "outcomes/submission_detail.html", _report_context(request, submission))


def _report_context(request: HttpRequest, submission: Submission, problem: str = "") -> dict[str, Any]:
    errors = Paginator(
        selectors.submission_issues(submission=submission, severity=SubmissionIssue.Severity.ERROR), ISSUES_PAGE_SIZE
    ).get_page(request.GET.get("errors_page"))
    warnings = Paginator(
        selectors.submission_issues(submission=submission, severity=SubmissionIssue.Severity.WARNING),
        ISSUES_PAGE_SIZE,
    ).get_page(request.GET.get("warnings_page"))
    is_form = submission.door == Door.FORM
    row_boroughs = selectors.form_row_boroughs(submission) if is_form else {}
    choice = selectors.form_submission_choice(submission) if is_form else {}
    offer_submit = (
        submission.dry_run
        and permissions.can_submit_trial(request.user, submission)
        and services.trial_is_submittable(submission)
    )
    return {
        "submission": submission,
        "errors": errors,
        "warnings": warnings,
        "row_boroughs": row_boroughs,
        "form_again": f"{reverse('data_form')}?{urlencode(choice)}" if choice else reverse("data_form"),
        "progress": None if submission.is_finished else _progress(submission),
        "offer_submit": offer_submit,
        "submitted_as": selectors.submitted_as(submission) if submission.dry_run else None,
        "problem": problem,
        **TABLE_HELPERS,
    }


@login_required
@require_POST
def submission_submit_trial(request: HttpRequest, pk: int) -> HttpResponse:
    """The one button after a clean trial run: submit the same stored file for real."""
    trial = permissions.get_submission_for_user_or_404(request.user, pk)
    permissions.require(permissions.can_submit_trial(request.user, trial))
    try:
        submission = services.submission_submit_trial(actor=request.user, trial=trial)
    except ValidationError as exc:
        # Stale (already submitted, or no longer kept) or not a clean trial: say so on its report.
        return render(
            request,
            "outcomes/submission_detail.html",
            _report_context(request, trial, problem=" ".join(exc.messages)),
            status=409,
        )
    return redirect(submission)


@login_required
@require_GET
def submission_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by htmx; once finished, htmx reloads the whole report."""
    submission = permissions.get_submission_for_user_or_404(request.user, pk)
    if submission.is_finished:
        response = render(request, "outcomes/_submission_finished.html", {"submission": submission})
        response["HX-Refresh"] = "true"
        return response
    return render(
        request, "outcomes/_submission_progress.html", {"submission": submission, "progress": _progress(submission)}
    )


# Values and review ------------------------------------------------------------------------


@login_required
@require_GET
def value_list(request: HttpRequest) -> HttpResponse:
    _require_submitter(request)
    form = ValueFilterForm(
        request.GET or None,
        indicators=Indicator.objects.order_by("name"),
        boroughs=selectors.boroughs_for_values(user=request.user),
        default_status_label=ANY_STATUS,
    )
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.outcome_value_list(
        selectors.provider_values(user=request.user),
        indicator=filters.get("indicator"),
        borough=filters.get("borough"),
        period=filters.get("period", ""),
        statuses=form.statuses(default=()),
    )
    page = Paginator(qs, VALUES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "outcomes/value_list.html", {"form": form, "page": page, **TABLE_HELPERS})


@login_required
@require_http_methods(["GET", "POST"])
def review_queue(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_review(request.user))
    review = ReviewForm(_posted(request))
    if request.method == "POST" and review.is_valid():
        action = review.cleaned_data["action"]
        selected = review.cleaned_data["values"]
        try:
            changed = services.outcome_values_review(
                actor=request.user,
                value_ids=selected,
                status=REVIEW_ACTIONS[action],
                message=review.cleaned_data["message"],
            )
        except ValidationError as exc:
            add_service_errors(review, exc)
        else:
            verb = {"approve": "approved", "query": "queried", "reject": "rejected"}[action]
            text = f"{changed} value{'s' if changed != 1 else ''} {verb}."
            if changed < len(selected):
                text += f" {len(selected) - changed} could not be {verb}: they had already been reviewed."
            messages.success(request, text)
            return redirect(request.get_full_path())
    form = ValueFilterForm(
        request.GET or None,
        indicators=Indicator.objects.order_by("name"),
        boroughs=selectors.boroughs_for_review(user=request.user),
        default_status_label="Waiting for review (submitted or queried)",
    )
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.outcome_value_list(
        permissions.reviewable_values(request.user),
        indicator=filters.get("indicator"),
        borough=filters.get("borough"),
        period=filters.get("period", ""),
        statuses=form.statuses(default=selectors.AWAITING_REVIEW),
    )
    page = Paginator(qs, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    selectable = [str(v.pk) for v in rows if v.status in selectors.AWAITING_REVIEW]
    # "Select all on this page" is a link (?select=page) that works without JavaScript;
    # with JavaScript it ticks the boxes in place (static/js/select-all.mjs).
    select_page = request.method == "GET" and request.GET.get("select") == "page"
    selected_ids = set(selectable) if select_page else set(request.POST.getlist("values"))
    params = request.GET.copy()
    params.pop("select", None)
    params["select"] = "page"
    return render(
        request,
        "outcomes/review_queue.html",
        {
            "form": form,
            "review": review,
            "page": page,
            "rows": rows,
            "context": selectors.review_context(rows),
            "selectable": len(selectable),
            "select_page_url": f"{request.path}?{params.urlencode()}",
            "selected_ids": selected_ids,
            "awaiting": selectors.AWAITING_REVIEW,
            **TABLE_HELPERS,
        },
    )


# Populations -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def populations(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_manage_populations(request.user))
    form = PopulationUploadForm(_posted(request), _posted(request, files=True))
    if request.method == "POST" and form.is_valid():
        try:
            count = services.populations_import_csv(actor=request.user, stream=form.cleaned_data["file"].file)
        except ValidationError as exc:
            problems = exc.messages
            shown = problems[:10]
            if len(problems) > len(shown):
                shown.append(f"... and {len(problems) - len(shown):,} more problems.")
            for problem in shown:
                form.add_error("file", problem)
        else:
            messages.success(request, f"{count:,} populations saved.")
            return redirect("populations")
    return render(request, "outcomes/populations.html", {"form": form, "table": selectors.population_table()})


# Dashboards -----------------------------------------------------------------------------
# Public pages reading only Metric, through outcomes.dashboards' disclosure control.

TREND_PERIODS = 8
# Cached dashboard data lives until its cells are recomputed (the generation moves on); the
# timeout only bounds how long an abandoned generation's entries linger in Redis.
DASHBOARD_CACHE_SECONDS = 24 * 60 * 60


def _cached(kind: str, parts: tuple, build: Any) -> Any:
    """What a dashboard reads from the database, cached until the metrics change.

    This cache holds the stored (unsuppressed) rows; disclosure control runs on them for each
    audience. The rendered content is cached separately, keyed by that audience
    (dashboards.cached_page), so a commissioner's unsuppressed figures can never be served to
    the public nor the public's to a commissioner, and every page keeps its own CSP nonce and
    sign-in state.
    """
    key = (
        f"dashboards:{metrics_generation()}:{code_version()}:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    )
    data = cache.get(key)
    if data is None:
        data = build()
        cache.set(key, data, DASHBOARD_CACHE_SECONDS)
    return data


def _basis(request: HttpRequest) -> str:
    """Approved figures, or provisional ones for those who may see them (outcomes.permissions)."""
    return permissions.figures_basis(request.user, request.GET.get("basis", ""))


def _download(request: HttpRequest, name: str, header: list[str], csv_rows: Any, document: Any) -> HttpResponse | None:
    """The ?format=csv or ?format=json answer of a dashboard, or None for the page itself.

    Any other format is a 400: answering with the page would hand a script HTML it took for data.
    """
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        response = HttpResponse(downloads.csv_text(header, csv_rows), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = HttpResponse(downloads.json_text(document), content_type="application/json")
    elif fmt:
        raise BadRequest("This page downloads as format=csv or format=json only.")
    else:
        return None
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _not_for_publication(response: HttpResponse, rows: list[dashboards.PublicMetric]) -> HttpResponse:
    # Unsuppressed figures must not sit in a shared cache.
    if any(r.not_for_publication for r in rows):
        patch_cache_control(response, private=True, no_store=True)
    return response


def _overview_data(code: str, basis: str, asked: str) -> dict[str, Any]:
    indicators = list(selectors.active_indicators())
    if not indicators:
        return {"indicators": []}
    indicator = next((i for i in indicators if i.code == (code or indicators[0].code)), None)
    if indicator is None:
        return {"indicators": indicators, "indicator": None}
    series = list(selectors.london_series(indicator=indicator, basis=basis))
    periods = [m.period_start for m in series]
    wanted = indicator.parse_period(asked) if asked else None
    period_start = wanted if wanted in periods else (periods[-1] if periods else None)
    metrics = (
        list(selectors.cell_metrics(indicator=indicator, period_start=period_start, basis=basis))
        if period_start
        else []
    )
    return {
        "indicators": indicators,
        "groups": selectors.indicators_by_priority_area(indicators),
        "indicator": indicator,
        "series": series,
        "periods": periods,
        "wanted": wanted,
        "period_start": period_start,
        "metrics": metrics,
        "tile_boroughs": list(selectors.tile_boroughs()) if period_start else [],
    }


@require_GET
def dashboard_overview(request: HttpRequest) -> HttpResponse:
    basis = _basis(request)
    exact_ids = set(permissions.commissioned_boroughs(request.user).values_list("pk", flat=True))
    audience = dashboards.audience(request, basis, exact_ids)
    return dashboards.cached_page(
        request, "overview", audience, lambda: _overview(request, audience), "dashboards/overview.html"
    )


def _overview(request: HttpRequest, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    basis, exact_ids = audience.basis, set(audience.unsuppressed)
    code = request.GET.get("indicator", "")
    asked = request.GET.get("period", "")
    data = _cached("overview", (code, basis, asked), lambda: _overview_data(code, basis, asked))
    indicators = data["indicators"]
    if not indicators:
        return dashboards.Page("dashboards/_overview_body.html", {"indicator": None}, {"indicator": None})
    indicator = data["indicator"]
    if indicator is None:
        raise Http404("There is no such indicator.")
    series, periods, wanted, period_start = data["series"], data["periods"], data["wanted"], data["period_start"]
    metrics = data["metrics"]
    rows = dashboards.public_metrics(metrics, unsuppressed_area_ids=exact_ids)
    london = next((r for r in rows if r.area_level == AreaLevel.LONDON), None)
    sub_regions = sorted((r for r in rows if r.area_level == AreaLevel.SUB_REGION), key=lambda r: r.area_name)
    sort = request.GET.get("sort", "area")
    boroughs = dashboards.sort_rows([r for r in rows if r.area_level == AreaLevel.BOROUGH], sort)
    period = indicator.period_label(period_start) if period_start else ""

    shown = ([london] if london else []) + sub_regions + boroughs
    document = {
        "indicator": indicator.code,
        "indicator_name": indicator.name,
        "period": period,
        "basis": basis,
        "provisional": basis == Metric.Basis.PROVISIONAL,
        "computed_at": max((r.computed_at for r in shown), default=None),
        "not_for_publication": any(r.not_for_publication for r in shown),
        "rows": [dashboards.overview_json_row(r) for r in shown],
    }
    download = _download(
        request,
        f"london-{indicator.code}-{period}-{basis}",
        dashboards.OVERVIEW_CSV_HEADER,
        dashboards.overview_csv_rows(shown),
        document,
    )
    if download is not None:
        return _not_for_publication(download, shown)

    by_area = {r.area_id: r for r in boroughs}
    tiles = [(area, by_area.get(area.pk)) for area in data["tile_boroughs"]]
    form = dashboards.dashboard_form(
        indicators=indicators,
        periods=[indicator.period_label(p) for p in reversed(periods)],
        initial={"indicator": indicator.code, "period": period, "basis": basis},
        provisional=audience.basis_choice,
    )
    return dashboards.Page(
        "dashboards/_overview_body.html",
        {
            "form": form,
            "groups": data["groups"],
            "indicator": indicator,
            "basis": basis,
            "period": period,
            "period_missing": bool(asked) and wanted not in periods,
            "asked_period": asked,
            "london": london,
            "sub_regions": sub_regions,
            "boroughs": boroughs,
            "tiles": tiles,
            "trend": dashboards.public_metrics(series[-TREND_PERIODS:]),
            "computed_at": document["computed_at"],
            "not_for_publication": document["not_for_publication"],
            "sort": sort if sort.lstrip("-") in dashboards.SORT_KEYS else "area",
            "legend": dashboards.legend(indicator),
            "words": dashboards.COMPARISON_WORDS,
            "labels": dashboards.COMPARISON_LABELS,
        },
        {"indicator": indicator},
        private=document["not_for_publication"],
    )


@require_GET
def dashboard_indicator(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, _basis(request))
    return dashboards.cached_page(
        request, "indicator", audience, lambda: _indicator(request, code, audience), "dashboards/indicator.html"
    )


def _indicator(request: HttpRequest, code: str, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    basis = audience.basis
    area_code = request.GET.get("area", "").strip().upper()

    def build() -> dict[str, Any]:
        indicator = selectors.indicator_detail(code=code).first()
        areas = list(selectors.dashboard_areas())
        area = next((a for a in areas if a.code == area_code), None)
        if indicator is None or (area_code and area is None):
            return {"indicator": indicator, "area": None, "areas": areas, "metrics": []}
        metrics = list(selectors.area_series(indicator=indicator, basis=basis, area=area))
        return {"indicator": indicator, "area": area, "areas": areas, "metrics": metrics}

    data = _cached("indicator", (code, basis, area_code), build)
    indicator, area, areas = data["indicator"], data["area"], data["areas"]
    if indicator is None:
        raise Http404("There is no such indicator.")
    if area_code and area is None:
        raise Http404("There is no such area.")
    rows = dashboards.public_metrics(data["metrics"])
    london_rows = [r for r in rows if r.area_level == AreaLevel.LONDON]
    area_rows = [r for r in rows if area is not None and r.area_id == area.pk]
    shown = sorted(london_rows + area_rows, key=lambda r: (r.period_start, r.area_level != AreaLevel.LONDON))
    document = {
        "indicator": indicator.code,
        "indicator_name": indicator.name,
        "area": area.code if area else None,
        "basis": basis,
        "provisional": basis == Metric.Basis.PROVISIONAL,
        "computed_at": max((r.computed_at for r in shown), default=None),
        "rows": [dashboards.trend_json_row(r) for r in shown],
    }
    download = _download(
        request,
        f"trend-{indicator.code}-{area.code if area else 'london'}-{basis}",
        dashboards.OVERVIEW_CSV_HEADER,
        dashboards.overview_csv_rows(shown),
        document,
    )
    if download is not None:
        return _not_for_publication(download, shown)
    labels = sorted({r.period for r in rows})
    area_by_period = {r.period: r for r in area_rows}
    london_by_period = {r.period: r for r in london_rows}
    # A count is drawn for one area at a time: beside London's total an area's count would look
    # small on any indicator (docs/statistics.md, "What is compared with what").
    london_series = [{"name": "London", **dashboards.chart_series(london_rows, labels)}]
    area_series = [{"name": area.name, **dashboards.chart_series(area_rows, labels)}] if area else []
    chart = {
        "labels": labels,
        "measure": indicator.measure,
        "unit": indicator.unit,
        "series": area_series if area and not is_comparable(indicator.measure) else london_series + area_series,
    }
    form = dashboards.dashboard_form(
        areas=areas,
        initial={"area": area.code if area else "", "basis": basis},
        provisional=audience.basis_choice,
    )
    table = [(p, london_by_period.get(p), area_by_period.get(p)) for p in reversed(labels)]
    return dashboards.Page(
        "dashboards/_indicator_body.html",
        {
            "form": form,
            "indicator": indicator,
            "area": area,
            "basis": basis,
            "table": table,
            "chart_data": json_script(chart, "dashboard-chart-data"),
            "not_compared_reason": NOT_COMPARED_REASON.get(indicator.measure, ""),
            "computed_at": max((r.computed_at for r in rows), default=None),
        },
        {"indicator": indicator, "table": bool(table)},
    )


@require_GET
def dashboard_area(request: HttpRequest, code: str) -> HttpResponse:
    audience = dashboards.audience(request, _basis(request))
    return dashboards.cached_page(
        request, "area", audience, lambda: _area(request, code, audience), "dashboards/area.html"
    )


def _area(request: HttpRequest, code: str, audience: dashboards.Audience) -> HttpResponse | dashboards.Page:
    basis = audience.basis

    def build() -> dict[str, Any]:
        area = selectors.dashboard_area(code=code).first()
        if area is None:
            return {"area": None}
        indicators = list(selectors.active_indicators())
        return {"area": area, "indicators": indicators, "profile": selectors.area_profile(area=area, basis=basis)}

    data = _cached("area", (code.strip().upper(), basis), build)
    area = data["area"]
    if area is None:
        raise Http404("There is no such area.")
    indicators, profile = data["indicators"], data["profile"]
    rows = dashboards.profile_rows(indicators, profile["metrics"], profile["ranges"])
    computed_at = max((m.computed_at for m in profile["metrics"]), default=None)
    document = {
        "area": area.code,
        "area_name": area.name,
        "area_level": area.level,
        "basis": basis,
        "provisional": basis == Metric.Basis.PROVISIONAL,
        "computed_at": computed_at,
        "rows": [dashboards.profile_json_row(r) for r in rows],
    }
    download = _download(
        request,
        f"profile-{area.code}-{basis}",
        dashboards.PROFILE_CSV_HEADER,
        dashboards.profile_csv_rows(rows, area, basis),
        document,
    )
    if download is not None:
        return download
    return dashboards.Page(
        "dashboards/_area_body.html",
        {
            "form": dashboards.dashboard_form(initial={"basis": basis}, provisional=audience.basis_choice),
            "area": area,
            "basis": basis,
            "rows": rows,
            "computed_at": computed_at,
        },
        {"area": area},
    )
