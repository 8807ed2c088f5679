"""Pages for duplicated work: the candidate pairs, one pair (dismiss, merge or propose), dismissals and merges."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from actionplan.duplicates import permissions, selectors, services
from actionplan.duplicates.forms import CandidateFilterForm, DismissForm, MergeForm, SplitForm
from actionplan.duplicates.models import DismissedPair
from actionplan.models import Action, ActionCoOwner, ActionIndicator, Milestone
from kernel.forms import add_service_errors
from stakeholders.models import Organisation

NAV = "plans"
HISTORY_ROWS = 50


class _Counted:
    """What Django's Paginator needs from a list whose page the database already cut: its length."""

    def __init__(self, total: int) -> None:
        self.total = total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, window: slice) -> list:
        return []


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


@login_required
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Candidate pairs among the plans the person may read, filtered and paged (one query for the page)."""
    permissions.require(permissions.can_see_duplicates(request.user))
    form = CandidateFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    number = _page_number(request)
    result = selectors.candidate_page(request.user, filters, page=number)
    if not result.pairs and number > 1:  # past the end: show the last page there is
        return redirect(f"{reverse('duplicate_list')}?{_query_without_page(request)}")
    page = Paginator(_Counted(result.total), selectors.PAGE_SIZE).get_page(number)
    page.object_list = result.pairs
    return render(
        request,
        "actionplan/duplicates/list.html",
        {
            "nav": NAV,
            "form": form,
            "page": page,
            "pairs": result.pairs,
            "total": result.total,
            "may_dismiss": {p.key: permissions.can_dismiss_pair(request.user, p.a, p.b) for p in result.pairs},
            "filtered": any(request.GET.get(k) for k in ("priority_area", "borough", "plan")),
        },
    )


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _pair_context(request: HttpRequest, a: Action, b: Action, **forms: Any) -> dict[str, Any]:
    user = request.user
    dismissal = DismissedPair.objects.filter(action_a=a, action_b=b).select_related("dismissed_by").first()
    return {
        "nav": NAV,
        "a": a,
        "b": b,
        "pair": None if dismissal else selectors.candidate_pair(user, a, b),
        "dismissal": dismissal,
        "can_dismiss": permissions.can_dismiss_pair(user, a, b),
        "can_merge": permissions.can_merge_pair(user, a, b),
        "can_propose": permissions.can_propose_merge(user, a, b),
        "dismiss_form": forms.get("dismiss_form") or DismissForm(),
        "merge_form": forms.get("merge_form") or MergeForm(a=a, b=b),
    }


@login_required
@require_GET
def duplicate_pair(request: HttpRequest, a: int, b: int) -> HttpResponse:
    action_a, action_b = permissions.get_pair_or_404(request.user, a, b)
    return render(request, "actionplan/duplicates/pair.html", _pair_context(request, action_a, action_b))


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, a: int, b: int) -> HttpResponse:
    action_a, action_b = permissions.get_pair_or_404(request.user, a, b)
    permissions.require(permissions.can_dismiss_pair(request.user, action_a, action_b))
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            services.pair_dismiss(actor=request.user, a=action_a, b=action_b, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Dismissed: “{action_a.title}” and “{action_b.title}” will not be listed again.")
            return redirect("duplicate_list")
    context = _pair_context(request, action_a, action_b, dismiss_form=form)
    return render(request, "actionplan/duplicates/pair.html", context, status=400)


@login_required
@require_POST
def duplicate_merge(request: HttpRequest, a: int, b: int) -> HttpResponse:
    """Merge the pair (a manager of both plans) or propose the merge (a manager of one)."""
    action_a, action_b = permissions.get_pair_or_404(request.user, a, b)
    may_merge = permissions.can_merge_pair(request.user, action_a, action_b)
    permissions.require(may_merge or permissions.can_propose_merge(request.user, action_a, action_b))
    form = MergeForm(request.POST, a=action_a, b=action_b)
    if form.is_valid():
        kept, retired = (action_a, action_b) if form.cleaned_data["keep"] == action_a.pk else (action_b, action_a)
        reason = form.cleaned_data["reason"]
        try:
            if may_merge:
                record = services.pair_merge(actor=request.user, kept=kept, retired=retired, reason=reason)
            else:
                told = services.merge_propose(actor=request.user, kept=kept, retired=retired, reason=reason)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if may_merge:
                messages.success(request, f"Merged into “{kept.title}”, now shared by both plans.")
                return redirect("duplicate_merge_detail", pk=record.pk)
            messages.success(
                request,
                f"Proposal sent to the other plan's managers ({told} told)." if told else "Proposal recorded.",
            )
            return redirect("duplicate_pair", a=action_a.pk, b=action_b.pk)
    context = _pair_context(request, action_a, action_b, merge_form=form)
    return render(request, "actionplan/duplicates/pair.html", context, status=400)


@login_required
@require_GET
def duplicate_history(request: HttpRequest) -> HttpResponse:
    """Pairs dismissed and merges made among the plans the person may read, newest first."""
    permissions.require(permissions.can_see_duplicates(request.user))
    dismissed = list(selectors.dismissed_pairs(request.user)[:HISTORY_ROWS])
    merges = list(selectors.merges(request.user)[:HISTORY_ROWS])
    return render(
        request,
        "actionplan/duplicates/history.html",
        {
            "nav": NAV,
            "dismissed": dismissed,
            "merges": merges,
            "may_undismiss": {
                d.pk: permissions.can_dismiss_pair(request.user, d.action_a, d.action_b) for d in dismissed
            },
        },
    )


@login_required
@require_POST
def duplicate_undismiss(request: HttpRequest, pk: int) -> HttpResponse:
    dismissal = permissions.get_dismissal_or_404(request.user, pk)
    permissions.require(permissions.can_dismiss_pair(request.user, dismissal.action_a, dismissal.action_b))
    services.pair_undismiss(actor=request.user, dismissal=dismissal)
    messages.success(request, "The pair is listed as a possible duplicate again.")
    return redirect("duplicate_history")


def _merge_context(request: HttpRequest, record: Any, split_form: SplitForm | None = None) -> dict[str, Any]:
    moved = record.moved or {}
    return {
        "nav": NAV,
        "record": record,
        "milestones": Milestone.objects.filter(pk__in=moved.get("milestones", [])).order_by("due", "pk"),
        "indicator_links": ActionIndicator.objects.filter(pk__in=moved.get("indicator_links", [])).select_related(
            "indicator"
        ),
        "co_owners": ActionCoOwner.objects.filter(pk__in=moved.get("co_owners", [])).select_related("organisation"),
        "partners": Organisation.objects.filter(pk__in=moved.get("partners", [])).order_by("name"),
        "can_split": permissions.can_split_merge(request.user, record),
        "split_form": split_form or SplitForm(),
    }


@login_required
@require_GET
def duplicate_merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = permissions.get_merge_or_404(request.user, pk)
    return render(request, "actionplan/duplicates/merge.html", _merge_context(request, record))


@login_required
@require_POST
def duplicate_merge_split(request: HttpRequest, pk: int) -> HttpResponse:
    record = permissions.get_merge_or_404(request.user, pk)
    permissions.require(permissions.can_split_merge(request.user, record))
    form = SplitForm(request.POST)
    if form.is_valid():
        services.merge_split(actor=request.user, record=record, reason=form.cleaned_data["reason"])
        messages.success(request, f"Split: “{record.retired.title}” is back in {record.retired.plan.title}.")
        return redirect(record.retired)
    return render(request, "actionplan/duplicates/merge.html", _merge_context(request, record, form), status=400)
