"""Pages for partnerships, the contract register, contracts, measures, performance and the overview."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods
from pghistory.models import Events

from actionplan.permissions import plans_visible_to
from commissioning import permissions, selectors, services
from commissioning.decisions import selectors as decision_selectors
from commissioning.forms import (
    ContractEditForm,
    ContractFilterForm,
    MeasureForm,
    PartnershipForm,
)
from commissioning.models import Contract, ContractMeasure, Partnership, format_pounds
from commissioning.permissions import ContractAccess
from kernel.concurrency import StaleEdit, conflict_rows, stale_edit_context, with_version
from kernel.downloads import csv_text
from kernel.forms import add_service_errors, posted
from kernel.history import history_entries
from kernel.markdown import render_markdown
from kernel.numbers import format_in_unit, format_number

REGISTER_PAGE_SIZE = 25
HISTORY_LIMIT = 200
NAV = "commissioning"
JUDGEMENT_COLOURS = {"met": "green", "not_met": "red", "unknown": "yellow"}
STATUS_COLOURS = {"draft": "grey", "active": "green", "expiring": "orange", "ended": "white"}


HELPERS = {
    "num": format_number,  # 1,060 or 2.5, never 6E+1 (kernel.numbers)
    "figure": format_in_unit,  # a figure in its indicator's unit: 81.5%, 12 (a count)
    "pounds": format_pounds,
    "nav": NAV,
    "judgement_colours": JUDGEMENT_COLOURS,
    "status_colours": STATUS_COLOURS,
}


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_store=True)
    return response


# Overview --------------------------------------------------------------------------------


def _pounds_text(pence: int) -> str:
    return f"{Decimal(pence) / 100:.2f}"


def _overview_csv_rows(view: selectors.Overview) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for row in view.by_form:
        rows.append(["form", row["label"], row["contracts"], _pounds_text(row["total"])])
    for row in view.by_borough:
        rows.append(["borough", row["area__name"], row["contracts"], _pounds_text(row["total"])])
    rows.append(["total", "All current contracts", view.contracts, _pounds_text(view.total_pence)])
    rows.append(["outcome_linked", "Value linked to outcome measures", "", _pounds_text(view.outcome_linked_pence)])
    rows.append(["measures", "Measures on track (target met)", view.measures_met, ""])
    rows.append(["measures", "Measures missing their target", view.measures_not_met, ""])
    rows.append(["measures", "Measures not yet certain", view.measures_unknown, ""])
    return rows


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    view = selectors.overview(user=request.user)
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            csv_text(["breakdown", "name", "contracts", "annual_value_pounds"], _overview_csv_rows(view)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="commissioning-overview.csv"'
        return _private(response)
    return _private(render(request, "commissioning/overview.html", {"view": view, **HELPERS}))


# Register --------------------------------------------------------------------------------

REGISTER_CSV_HEADER = [
    "reference",
    "title",
    "commissioner",
    "form",
    "providers",
    "boroughs",
    "status",
    "annual_value_pounds",
    "value_band",
    "start_date",
    "end_date",
]


def _register_csv_rows(contracts: Any) -> Any:
    for c in contracts:
        yield [
            c.reference,
            c.title,
            str(c.commissioner),
            c.get_form_display(),
            "; ".join(f"{p.organisation.name} ({p.get_role_display()})" for p in c.providers.all()),
            "; ".join(b.name for b in c.boroughs.all()),
            c.status_label,
            _pounds_text(c.annual_value_pence) if c.full_access else "",
            c.value_band,
            c.start_date if c.full_access else "",
            c.end_date if c.full_access else "",
        ]


def _csv_query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = "csv"
    return params.urlencode()


@require_GET
def contract_register(request: HttpRequest) -> HttpResponse:
    form = ContractFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.contract_register(
        user=request.user,
        commissioner=filters.get("commissioner", ""),
        provider=filters.get("provider"),
        borough=filters.get("borough"),
        form=filters.get("form", ""),
        status=filters.get("status", ""),
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(csv_text(REGISTER_CSV_HEADER, _register_csv_rows(qs)), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="contract-register.csv"'
        return _private(response)
    page = Paginator(qs, REGISTER_PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.register_totals(qs)
    return _private(
        render(
            request,
            "commissioning/register.html",
            {
                "form": form,
                "page": page,
                "totals": totals,
                "can_create": permissions.can_create_contract(request.user),
                "csv_query": _csv_query(request),
                **HELPERS,
            },
        )
    )


# Contracts -------------------------------------------------------------------------------


def _contract_form(
    request: HttpRequest, data: Any = None, initial: Any = None, contract: Contract | None = None
) -> ContractEditForm:
    return ContractEditForm(
        data,
        initial=initial,
        organisations=permissions.commissioner_organisation_choices(request.user),
        partnerships=permissions.commissioner_partnership_choices(request.user),
        contract=contract,
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_create_contract(request.user))
    form = _contract_form(request, posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(actor=request.user, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Contract {contract.reference} created.")
            return redirect(contract)
    return render(request, "commissioning/contract_form.html", {"form": form, "contract": None, **HELPERS})


@require_GET
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract, access = permissions.get_contract_for_user_or_404(request.user, pk)
    if access == ContractAccess.PUBLIC:
        return render(request, "commissioning/contract_summary.html", {"contract": contract, **HELPERS})
    measures = list(selectors.contract_measures(contract))
    for m in measures:
        m.contract = contract
    return _private(
        render(
            request,
            "commissioning/contract_detail.html",
            {
                "contract": contract,
                "measures": measures,
                "share_total": sum(m.share_bp for m in measures),
                "can_manage": access == ContractAccess.MANAGE,
                **HELPERS,
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract, _ = permissions.get_contract_for_user_or_404(request.user, pk, write=True)
    form = _contract_form(request, posted(request), initial=ContractEditForm.initial_for(contract), contract=contract)
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or contract.version
        try:
            services.contract_update(
                actor=request.user, contract=contract, expected_version=expected, **form.service_values()
            )
        except StaleEdit as exc:
            current = exc.current
            rows = conflict_rows(form, ContractEditForm.as_stored(current))
            again = _contract_form(request, with_version(request.POST, current.version), contract=contract)
            return render(
                request,
                "commissioning/contract_form.html",
                {
                    "form": again,
                    "contract": current,
                    **stale_edit_context(request, current, rows),
                    **HELPERS,
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Contract {contract.reference} saved.")
            return redirect(contract)
    return render(request, "commissioning/contract_form.html", {"form": form, "contract": contract, **HELPERS})


@login_required
@require_GET
def contract_history(request: HttpRequest, pk: int) -> HttpResponse:
    contract, access = permissions.get_contract_for_user_or_404(request.user, pk)
    permissions.require(permissions.can_view_performance(access))
    # The contract's own events and those of every row pointing at it (measures and providers,
    # removed ones included). Payment statements keep their own history, on the statement's page.
    events = (
        Events.objects.references(contract)
        .exclude(pgh_model="commissioning.PaymentStatementEvent")
        .order_by("-pgh_created_at", "-pgh_id")[:HISTORY_LIMIT]
    )
    return _private(
        render(
            request,
            "commissioning/contract_history.html",
            {"contract": contract, "entries": history_entries(events), **HELPERS},
        )
    )


@require_GET
def contract_performance(request: HttpRequest, pk: int) -> HttpResponse:
    contract, access = permissions.get_contract_for_user_or_404(request.user, pk)
    if not permissions.can_view_performance(access):
        # The public summary never includes performance; signed-out visitors sign in first.
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        permissions.require(False)
    exact = permissions.sees_exact_performance(request.user, contract)
    rows = selectors.contract_performance(contract, list(selectors.contract_measures(contract)), exact=exact)
    return _private(
        render(
            request,
            "commissioning/contract_performance.html",
            {"contract": contract, "rows": rows, "totals": selectors.performance_totals(rows), **HELPERS},
        )
    )


# Measures --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def measure_create(request: HttpRequest, pk: int) -> HttpResponse:
    contract, _ = permissions.get_contract_for_user_or_404(request.user, pk, write=True)
    form = MeasureForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.measure_create(actor=request.user, contract=contract, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Measure added.")
            return redirect(contract)
    return render(
        request, "commissioning/measure_form.html", {"form": form, "contract": contract, "measure": None, **HELPERS}
    )


def _measure_or_404(contract: Contract, measure_id: int) -> ContractMeasure:
    measure = contract.measures.select_related("indicator").filter(pk=measure_id).first()
    if measure is None:
        raise Http404
    return measure


@login_required
@require_http_methods(["GET", "POST"])
def measure_edit(request: HttpRequest, pk: int, measure_id: int) -> HttpResponse:
    contract, _ = permissions.get_contract_for_user_or_404(request.user, pk, write=True)
    measure = _measure_or_404(contract, measure_id)
    form = MeasureForm(posted(request), initial=MeasureForm.initial_for(measure))
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or measure.version
        try:
            services.measure_update(
                actor=request.user, measure=measure, expected_version=expected, **form.service_values()
            )
        except StaleEdit as exc:
            current = ContractMeasure.objects.select_related("indicator").get(pk=exc.current.pk)
            return render(
                request,
                "commissioning/measure_form.html",
                {
                    "form": MeasureForm(with_version(request.POST, current.version)),
                    "contract": contract,
                    "measure": current,
                    **stale_edit_context(request, current, conflict_rows(form, MeasureForm.as_stored(current))),
                    **HELPERS,
                },
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Measure saved.")
            return redirect(contract)
    return render(
        request, "commissioning/measure_form.html", {"form": form, "contract": contract, "measure": measure, **HELPERS}
    )


@login_required
@require_http_methods(["POST"])
def measure_delete(request: HttpRequest, pk: int, measure_id: int) -> HttpResponse:
    contract, _ = permissions.get_contract_for_user_or_404(request.user, pk, write=True)
    measure = _measure_or_404(contract, measure_id)
    version = request.POST.get("version", "")
    try:
        services.measure_delete(
            actor=request.user, measure=measure, expected_version=int(version) if version.isdigit() else 0
        )
    except StaleEdit:
        messages.error(request, "Someone changed this measure since you opened it. Check it before removing it.")
        return redirect("measure_edit", pk=contract.pk, measure_id=measure.pk)
    messages.success(request, "Measure removed.")
    return redirect(contract)


# Partnerships ----------------------------------------------------------------------------


@require_GET
def partnership_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "commissioning/partnership_list.html",
        {
            "partnerships": selectors.partnership_list(),
            "can_create": permissions.can_create_partnership(request.user),
            **HELPERS,
        },
    )


def _partnership_or_404(slug: str) -> Partnership:
    partnership = selectors.partnership_detail(slug).first()
    if partnership is None:
        raise Http404
    return partnership


@require_GET
def partnership_detail(request: HttpRequest, slug: str) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    visible_plans = {p.pk: p for p in selectors.partnership_plans(request.user, partnership)}
    return render(
        request,
        "commissioning/partnership_detail.html",
        {
            "partnership": partnership,
            "plans": list(visible_plans.values()),
            "terms": render_markdown(partnership.terms_of_reference, top_heading=2),
            "contracts": selectors.partnership_contracts(request.user, partnership),
            "can_manage": permissions.can_manage_partnership(request.user, partnership),
            # The latest entries of the decisions log, with their stance tallies (one query).
            "recent_decisions": list(decision_selectors.decision_log(partnership)[:5]),
            **HELPERS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def partnership_create(request: HttpRequest) -> HttpResponse:
    permissions.require(permissions.can_create_partnership(request.user))
    form = PartnershipForm(
        posted(request),
        leads=permissions.partnership_lead_choices(request.user),
        plans=plans_visible_to(request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            partnership = services.partnership_create(actor=request.user, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Partnership '{partnership.name}' created.")
            return redirect(partnership)
    return render(request, "commissioning/partnership_form.html", {"form": form, "partnership": None, **HELPERS})


@login_required
@require_http_methods(["GET", "POST"])
def partnership_edit(request: HttpRequest, slug: str) -> HttpResponse:
    partnership = _partnership_or_404(slug)
    permissions.require(permissions.can_manage_partnership(request.user, partnership))
    form = PartnershipForm(
        posted(request),
        initial=PartnershipForm.initial_for(partnership),
        leads=permissions.partnership_lead_choices(request.user, partnership=partnership),
        plans=plans_visible_to(request.user),
    )
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        # Linked plans this member cannot see stay linked: the form could not show them.
        visible = plans_visible_to(request.user).values("pk")
        values["plans"] = [*values["plans"], *partnership.plans.exclude(pk__in=visible)]
        try:
            services.partnership_update(actor=request.user, partnership=partnership, **values)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Partnership saved.")
            return redirect(partnership)
    return render(request, "commissioning/partnership_form.html", {"form": form, "partnership": partnership, **HELPERS})
