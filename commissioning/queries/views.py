"""Pages for value queries: the list both sides work from, and the thread."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from commissioning.queries import permissions, selectors, services
from commissioning.queries.forms import CorrectionForm, ReplyForm, RequeryForm, ResolveForm
from commissioning.queries.models import MessageKind, QueryStatus
from kernel.forms import add_service_errors
from outcomes.selectors import value_figure
from stakeholders.permissions import require

PAGE_SIZE = 50
FORMS = {"reply": ReplyForm, "correct": CorrectionForm, "requery": RequeryForm, "resolve": ResolveForm}
KINDS = {
    "reply": MessageKind.REPLY,
    "correct": MessageKind.CORRECTION,
    "requery": MessageKind.REQUERY,
    "resolve": MessageKind.RESOLUTION,
}
DONE = {
    "reply": "Your reply was sent to the commissioner.",
    "correct": "The value was corrected and sent for review; the commissioner has been told.",
    "requery": "The query was sent to the provider again.",
    "resolve": "The query is resolved.",
}
RESOLVED_APPROVED = "The query is resolved and the value approved."


@login_required
@require_GET
def value_query_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "waiting")
    if show not in selectors.FILTERS:
        show = "waiting"
    page = Paginator(selectors.query_list(request.user, show=show), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "commissioning/queries/list.html",
        {
            "page": page,
            "show": show,
            "filters": selectors.FILTERS,
            "counts": selectors.query_counts(request.user),
            "today": timezone.localdate(),
            "service_days": settings.VALUE_QUERY_WORKING_DAYS,
        },
    )


def _forms_for(request: HttpRequest, query, posted: str | None) -> dict:
    """The forms this person may use on the thread, the posted one bound."""
    allowed = []
    if query.status != QueryStatus.RESOLVED:
        if permissions.can_answer(request.user, query):
            allowed += ["reply", "correct"]
        if permissions.can_resolve(request.user, query):
            allowed += ["requery", "resolve"]
    forms = {}
    for name in allowed:
        data = request.POST if name == posted else None
        kwargs = {"needs_denominator": query.value.indicator.needs_denominator} if name == "correct" else {}
        initial = {}
        if name == "correct":
            initial = {"numerator": query.value.numerator.normalize(), "denominator": query.value.denominator}
        forms[name] = FORMS[name](data, prefix=name, initial=initial, **kwargs)
    return forms


@login_required
@require_http_methods(["GET", "POST"])
def value_query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = permissions.get_query_for_user_or_404(request.user, pk)
    posted = request.POST.get("form") if request.method == "POST" else None
    if request.method == "POST":
        require(permissions.can_act(request.user, query))
    forms = _forms_for(request, query, posted)
    if posted and posted not in forms:
        # A form this person may not use here: the query was resolved meanwhile, or it is the other side's.
        messages.error(request, "That can no longer be done on this query: it has been resolved.")
        return redirect("value_query_detail", pk=query.pk)
    if posted:
        form = forms[posted]
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.query_post(actor=request.user, query=query, kind=KINDS[posted], **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, DONE[posted] if posted != "resolve" or not data["approve"] else RESOLVED_APPROVED
                )
                return redirect("value_query_detail", pk=query.pk)
    value = query.value
    return render(
        request,
        "commissioning/queries/detail.html",
        {
            "query": query,
            "value": value,
            "figure": value_figure(value),
            "thread": selectors.query_messages(query),
            "forms": forms,
            "posted": posted,
            "today": timezone.localdate(),
            "age": services.working_days_between(timezone.localtime(query.opened_at).date(), timezone.localdate()),
        },
    )


@login_required
@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    cards = selectors.scorecards(request.user)
    return render(
        request,
        "commissioning/queries/scorecards.html",
        {**cards, "service_days": settings.VALUE_QUERY_WORKING_DAYS},
    )
