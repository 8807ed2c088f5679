"""Pages for payment statements: a contract's list, drafting, the statement (agree, dispute, threads),
its print version and its CSV."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from commissioning.permissions import get_contract_for_user_or_404, sees_exact_performance
from commissioning.statements import permissions, selectors, services
from commissioning.statements.forms import (
    AgreeAllForm,
    DraftForm,
    MessageForm,
    RefreshForm,
    StanceForm,
    quarter_choices,
)
from commissioning.statements.models import PaymentStatement, Stance
from commissioning.views import HELPERS, _private
from kernel.concurrency import StaleEdit
from kernel.downloads import csv_text
from kernel.forms import add_service_errors
from stakeholders.permissions import require

STALE = (
    "The statement changed while you were looking at it (someone agreed, disputed or refreshed it). "
    "Check it again below: what you wrote is kept."
)


def _contract_and_role(request: HttpRequest, pk: int):
    contract, _ = get_contract_for_user_or_404(request.user, pk)
    return contract, permissions.get_contract_statements_or_404(request.user, contract)


@login_required
@require_GET
def contract_statements(request: HttpRequest, pk: int) -> HttpResponse:
    contract, role = _contract_and_role(request, pk)
    statements = list(selectors.statement_list(contract))
    return _private(
        render(
            request,
            "commissioning/statements/list.html",
            {"contract": contract, "statements": statements, "role": role, **HELPERS},
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_statement_create(request: HttpRequest, pk: int) -> HttpResponse:
    contract, role = _contract_and_role(request, pk)
    require(role.drafts)
    taken = set(contract.statements.values_list("period_start", flat=True))
    choices = quarter_choices(contract, timezone.localdate(), taken)
    form = DraftForm(request.POST if request.method == "POST" else None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            statement = services.statement_draft(
                actor=request.user, contract=contract, period_start=form.cleaned_data["period_start"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Statement drafted. The provider has been told.")
            return redirect(statement)
    return render(request, "commissioning/statements/draft.html", {"contract": contract, "form": form, **HELPERS})


def _history(statement: PaymentStatement, views: list[selectors.LineView]) -> list[dict[str, Any]]:
    """Every agreement and dispute (reset ones marked), and every refresh of the figures, oldest first."""
    entries: list[dict[str, Any]] = [
        {"at": statement.drafted_at, "who": statement.drafted_by, "what": "Drafted the statement", "line": None}
    ]
    for view in views:
        for s in view.line.stances.all():
            entries.append(
                {
                    "at": s.created_at,
                    "who": s.user,
                    "org": s.organisation,
                    "what": f"{s.get_stance_display()} for the {s.get_party_display().lower()}",
                    "line": view.line.indicator_name,
                    "reason": s.reason,
                    "reset": s.reset_at,
                }
            )
    # Refreshes: the statement's history events where the freezing time moved (one query).
    frozen = None
    for at in (
        PaymentStatement.pgh_event_model.objects.filter(pgh_obj_id=statement.pk)
        .order_by("pgh_id")
        .values_list("frozen_at", flat=True)
    ):
        if frozen is not None and at != frozen:
            entries.append(
                {"at": at, "who": None, "what": "Refreshed the figures from today's approved data", "line": None}
            )
        frozen = at
    if statement.locked_at:
        entries.append(
            {"at": statement.locked_at, "who": None, "what": "Agreed by every party and locked", "line": None}
        )
    return sorted(entries, key=lambda e: e["at"])


def _statement_context(request: HttpRequest, statement: PaymentStatement, role) -> dict[str, Any]:
    exact = sees_exact_performance(request.user, statement.contract)
    views = selectors.line_views(statement, exact=exact)
    providers = [
        p
        for p in statement.contract.providers.all()
        if p.organisation_id in permissions.party_provider_ids(statement.contract)
    ]
    return {
        "statement": statement,
        "contract": statement.contract,
        "role": role,
        "views": views,
        "exact": exact,
        "parties": [
            (
                "commissioner",
                statement.contract.commissioner.name if statement.contract.commissioner else "Commissioner",
            )
        ]
        + [(f"provider:{p.organisation_id}", p.organisation.name) for p in providers],
        "totals": selectors.statement_totals([v.line for v in views]),
        "changed": any(v.changed for v in views),
        "my_key": selectors.party_key(role.party, role.organisation_id) if role.acts else None,
        **HELPERS,
    }


def _forms(request: HttpRequest, statement: PaymentStatement, role, views, posted: str | None, line_id: int | None):
    forms: dict[str, Any] = {"stance": {}, "message": {}}
    if not role.acts or statement.is_locked:
        return forms
    data = request.POST if posted else None
    initial = {"version": statement.version}
    for view in views:
        pk = view.line.pk
        bind = data if line_id == pk else None
        forms["stance"][pk] = StanceForm(bind if posted == "stance" else None, prefix=f"line-{pk}", initial=initial)
        forms["message"][pk] = MessageForm(bind if posted == "message" else None, prefix=f"message-{pk}")
    forms["agree_all"] = AgreeAllForm(data if posted == "agree_all" else None, prefix="all", initial=initial)
    if role.drafts:
        forms["refresh"] = RefreshForm(data if posted == "refresh" else None, prefix="refresh", initial=initial)
    return forms


def _line(statement: PaymentStatement, line_id: int | None):
    for line in statement.lines.all():
        if line.pk == line_id:
            line.statement = statement
            return line
    raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement, role = permissions.get_statement_for_user_or_404(request.user, pk, act=request.method == "POST")
    posted = request.POST.get("form") if request.method == "POST" else None
    line_id = request.POST.get("line") if posted else None
    line_id = int(line_id) if line_id and line_id.isdigit() else None
    if posted and statement.is_locked:
        messages.error(request, "This statement is agreed and locked: nothing on it changes.")
        return redirect(statement)
    context = _statement_context(request, statement, role)
    forms = _forms(request, statement, role, context["views"], posted, line_id)
    failed = None
    if posted in ("stance", "message"):
        form = forms[posted].get(line_id)
        if form is None:
            raise Http404
        failed = form
        if form.is_valid():
            line = _line(statement, line_id)
            try:
                if posted == "stance":
                    services.line_stance_record(
                        actor=request.user,
                        line=line,
                        stance=form.cleaned_data["stance"],
                        reason=form.cleaned_data["reason"],
                        expected_version=form.cleaned_data["version"],
                    )
                else:
                    services.line_message_post(actor=request.user, line=line, text=form.cleaned_data["text"])
            except StaleEdit:
                form.add_error(None, STALE)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return _done(request, statement, posted, form)
    elif posted in ("agree_all", "refresh"):
        form = forms.get(posted)
        if form is None:
            require(False)
        failed = form
        if form.is_valid():
            try:
                if posted == "agree_all":
                    taken = services.statement_agree_all(
                        actor=request.user, statement=statement, expected_version=form.cleaned_data["version"]
                    )
                    messages.success(request, f"You agreed {taken} line{'s' if taken != 1 else ''}.")
                else:
                    reset = services.statement_refresh(
                        actor=request.user, statement=statement, expected_version=form.cleaned_data["version"]
                    )
                    messages.success(
                        request,
                        "Figures refreshed from today's approved data."
                        + (f" {reset} earlier stance(s) reset: every party agrees again." if reset else ""),
                    )
            except StaleEdit:
                form.add_error(None, STALE)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect(statement)
    elif posted:
        raise Http404
    return _private(
        render(
            request,
            "commissioning/statements/detail.html",
            {
                **context,
                "forms": forms,
                "failed": failed,
                "failed_line": line_id,
                "history": _history(statement, context["views"]),
            },
        )
    )


def _done(request: HttpRequest, statement: PaymentStatement, posted: str, form) -> HttpResponse:
    fresh = PaymentStatement.objects.get(pk=statement.pk)
    if posted == "message":
        messages.success(request, "Your message was added to the line's thread; the other side has been told.")
    elif fresh.is_locked:
        messages.success(request, "Every party has agreed every line: the statement is locked.")
    elif form.cleaned_data["stance"] == Stance.DISPUTE:
        messages.success(request, "You disputed the line; the other side has been told.")
    else:
        messages.success(request, "You agreed the line.")
    return redirect(statement)


@login_required
@require_GET
def statement_print(request: HttpRequest, pk: int) -> HttpResponse:
    statement, role = permissions.get_statement_for_user_or_404(request.user, pk)
    context = _statement_context(request, statement, role)
    return _private(
        render(
            request,
            "commissioning/statements/print.html",
            {**context, "history": _history(statement, context["views"]), "today": timezone.localdate()},
        )
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


@login_required
@require_GET
def statement_csv(request: HttpRequest, pk: int) -> HttpResponse:
    statement, role = permissions.get_statement_for_user_or_404(request.user, pk)
    context = _statement_context(request, statement, role)
    parties = context["parties"]
    header = (
        [
            "contract", "period_start", "period_end", "status", "indicator", "measure", "unit", "polarity",
            "periods", "value", "lower95", "upper95", "numerator", "denominator", "population",
            "boroughs_reporting", "boroughs_total", "controlled", "target", "judgement", "judgement_note",
            "linked_pence", "earned_pence", "at_risk_pence", "held_pence",
            *[f"{label} stance" for _, label in parties], *[f"{label} reason" for _, label in parties],
        ]
    )  # fmt: skip
    rows = []
    for view in context["views"]:
        line, shown = view.line, view.shown
        stances = [view.latest.get(key) for key, _ in parties]
        rows.append(
            [
                statement.contract.reference, statement.period_start, statement.period_end, statement.status,
                line.indicator_code, line.measure_type, line.unit, line.polarity, line.periods,
                _cell(shown.value), _cell(shown.lower), _cell(shown.upper), _cell(shown.numerator),
                _cell(shown.denominator), _cell(shown.population), line.boroughs_reporting, line.boroughs_total,
                "false" if context["exact"] else "true", _cell(line.target), line.judgement, line.judgement_note,
                line.linked_pence, line.earned_pence, line.at_risk_pence, line.held_pence,
                *[s.stance if s else "" for s in stances], *[s.reason if s else "" for s in stances],
            ]
        )  # fmt: skip
    # csv_text: a cell starting = + - @ cannot run as a spreadsheet formula (reasons are typed by people).
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    name = f"{statement.contract.reference}-{statement.period_start:%Y-%m}-statement.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return _private(response)
