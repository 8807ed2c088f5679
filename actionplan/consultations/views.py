"""Pages for consultations (writing, opening, answering, results, export), the moderation of their
free-text answers, "did it make a difference" and a plan's voice impact. Thin: ask permissions,
parse a form, call a service or a selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pghistory.models import Events

from actionplan import permissions as plan_permissions
from actionplan.consultations import permissions, selectors, services
from actionplan.consultations.forms import (
    AnswerForm,
    ChangeCheckForm,
    ConsultationForm,
    ModerateAnswerForm,
    QuestionForm,
)
from actionplan.models import (
    AnswerHold,
    Consultation,
    ConsultationState,
    Plan,
    Question,
    QuestionKind,
)
from actionplan.voice import permissions as voice_permissions
from kernel.concurrency import StaleEdit, conflict_rows, stale_edit_context, with_version
from kernel.downloads import csv_text
from kernel.forms import add_service_errors, posted
from kernel.history import history_entries
from kernel.markdown import render_markdown

STATE_COLOURS = {
    ConsultationState.DRAFT: "grey",
    ConsultationState.SCHEDULED: "blue",
    ConsultationState.OPEN: "green",
    ConsultationState.CLOSED: "white",
}
HELPERS = {"state_colours": STATE_COLOURS, "kinds": QuestionKind}


def _plan(request: HttpRequest, slug: str) -> Plan:
    return plan_permissions.get_plan_for_user_or_404(request.user, slug)


def _consultation(request: HttpRequest, plan: Plan, consultation_id: int) -> Consultation:
    return permissions.get_consultation_or_404(request.user, plan, consultation_id)


def _actions(plan: Plan) -> Any:
    return plan.actions.order_by("key_step__number", "title")


def _context(request: HttpRequest, plan: Plan, **extra: Any) -> dict[str, Any]:
    return {"plan": plan, "today": timezone.localdate(), **HELPERS, **extra}


# Listing and writing ---------------------------------------------------------------------


@require_GET
def consultation_list(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    managers = plan_permissions.can_manage_plan(request.user, plan)
    return render(
        request,
        "actionplan/consultations/list.html",
        _context(
            request,
            plan,
            consultations=list(selectors.consultations_for_plan(request.user, plan, managers)),
            can_create=permissions.can_manage_consultations(request.user, plan),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def consultation_create(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    permissions.require(permissions.can_manage_consultations(request.user, plan))
    initial = {"action": request.GET.get("action")} if request.GET.get("action", "").isdigit() else None
    form = ConsultationForm(posted(request), actions=_actions(plan), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.consultation_create(actor=request.user, plan=plan, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Consultation saved as a draft. Now add its questions.")
            return redirect(consultation)
    return render(request, "actionplan/consultations/form.html", _context(request, plan, form=form, consultation=None))


@login_required
@require_http_methods(["GET", "POST"])
def consultation_edit(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    form = ConsultationForm(posted(request), actions=_actions(plan), initial=ConsultationForm.initial_for(consultation))
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version") or consultation.version
        try:
            services.consultation_update(
                actor=request.user, consultation=consultation, expected_version=expected, **form.service_values()
            )
        except StaleEdit as exc:
            current = Consultation.objects.select_related("action").get(pk=consultation.pk)
            current.plan = plan
            again = ConsultationForm(with_version(request.POST, exc.current.version), actions=_actions(plan))
            return render(
                request,
                "actionplan/consultations/form.html",
                _context(
                    request,
                    plan,
                    form=again,
                    consultation=current,
                    **stale_edit_context(request, current, conflict_rows(form, current)),
                ),
                status=409,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Consultation saved.")
            return redirect(consultation)
    return render(
        request,
        "actionplan/consultations/form.html",
        _context(request, plan, form=form, consultation=consultation),
    )


@login_required
@require_http_methods(["GET", "POST"])
def question_create(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    form = QuestionForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.question_add(actor=request.user, consultation=consultation, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Question added.")
            return redirect(consultation)
    return render(
        request,
        "actionplan/consultations/question_form.html",
        _context(request, plan, form=form, consultation=consultation, question=None, kind_hints=_kind_hints()),
    )


def _kind_hints() -> dict[str, str]:
    from actionplan.consultations.forms import KIND_HINTS

    return {str(k): v for k, v in KIND_HINTS.items()}


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, slug: str, consultation_id: int, question_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    question = permissions.get_question_or_404(consultation, question_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    form = QuestionForm(posted(request), initial=QuestionForm.initial_for(question))
    if request.method == "POST" and form.is_valid():
        try:
            services.question_update(actor=request.user, question=question, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Question saved.")
            return redirect(consultation)
    return render(
        request,
        "actionplan/consultations/question_form.html",
        _context(request, plan, form=form, consultation=consultation, question=question, kind_hints=_kind_hints()),
    )


@login_required
@require_POST
def question_move(request: HttpRequest, slug: str, consultation_id: int, question_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    question = permissions.get_question_or_404(consultation, question_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    try:
        services.question_move(actor=request.user, question=question, up=request.POST.get("direction") == "up")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{consultation.get_absolute_url()}#question-{question.pk}")


@login_required
@require_POST
def question_delete(request: HttpRequest, slug: str, consultation_id: int, question_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    question = permissions.get_question_or_404(consultation, question_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    try:
        services.question_delete(actor=request.user, question=question)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Question “{question.text}” removed.")
    return redirect(consultation)


@login_required
@require_http_methods(["GET", "POST"])
def consultation_open(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    """Confirm, then open: followers are invited and the questions are fixed."""
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    permissions.require(permissions.can_edit_consultation(request.user, consultation))
    error = ""
    if request.method == "POST":
        version = request.POST.get("version", "")
        try:
            services.consultation_open(
                actor=request.user,
                consultation=consultation,
                expected_version=int(version) if version.isdigit() else consultation.version,
            )
        except StaleEdit:
            error = "Someone changed the consultation since you loaded this page. Check it below, then open it."
            consultation = _consultation(request, plan, consultation_id)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, "The consultation is open and the plan's followers are invited.")
            return redirect(consultation)
    return render(
        request,
        "actionplan/consultations/open.html",
        _context(
            request,
            plan,
            consultation=consultation,
            questions=selectors.questions(consultation),
            followers=plan.follows.count(),
            error=error,
        ),
        status=400 if error else 200,
    )


# Reading, answering, results ---------------------------------------------------------------


@require_GET
def consultation_detail(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    user = request.user
    items = selectors.questions(consultation)
    can_edit = permissions.can_edit_consultation(user, consultation)
    can_export = permissions.can_export(user, consultation)
    history = []
    if can_export:
        events = (
            Events.objects.across(Consultation.pgh_event_model, Question.pgh_event_model)
            .references(consultation)
            .order_by("-pgh_created_at")[:100]
        )
        history = history_entries(events)
    return render(
        request,
        "actionplan/consultations/detail.html",
        _context(
            request,
            plan,
            consultation=consultation,
            introduction=render_markdown(consultation.introduction, top_heading=2),
            questions=items,
            results=selectors.results(consultation, items) if consultation.published_at else None,
            state=consultation.state(),
            can_edit=can_edit,
            can_export=can_export,
            can_answer=permissions.can_answer(user, consultation),
            answered=selectors.own_participation(user, consultation) is not None,
            unverified=voice_permissions.is_unverified(user),
            history=history,
        ),
    )


@require_http_methods(["GET", "POST"])
def consultation_answer(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    permissions.require(permissions.can_answer(request.user, consultation))
    items = selectors.questions(consultation)
    mine = selectors.own_participation(request.user, consultation)
    form = AnswerForm(posted(request), questions=items, initial=AnswerForm.initial_for(mine))
    if request.method == "POST" and form.is_valid():
        try:
            services.answers_submit(actor=request.user, consultation=consultation, **form.service_values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            held = consultation.questions.filter(
                answers__participation__user=request.user, answers__hold_reason=AnswerHold.SAFETY
            ).exists()
            if held:
                return render(
                    request, "actionplan/consultations/held.html", _context(request, plan, consultation=consultation)
                )
            messages.success(
                request,
                f"Thank you: your answers are saved. You can change them until {consultation.closes_on:%-d %B %Y}.",
            )
            return redirect(consultation)
    return render(
        request,
        "actionplan/consultations/answer.html",
        _context(request, plan, consultation=consultation, form=form, changing=mine is not None),
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_GET
def consultation_export(request: HttpRequest, slug: str, consultation_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    consultation = _consultation(request, plan, consultation_id)
    permissions.require(permissions.can_export(request.user, consultation))
    header, rows = selectors.export_rows(consultation)
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{plan.slug}-consultation-{consultation.pk}.csv"'
    return response


# Moderation ----------------------------------------------------------------------------------


@login_required
@require_GET
def moderation(request: HttpRequest) -> HttpResponse:
    """Free-text answers waiting for a moderator, on plans the moderator may see."""
    permissions.require(voice_permissions.can_moderate(request.user))
    waiting = [
        a
        for a in selectors.answers_waiting(request.user)[:200]
        if plan_permissions.can_view_plan(request.user, a.question.consultation.plan)
    ]
    return render(
        request,
        "actionplan/consultations/moderation.html",
        {"answers": waiting, "form": ModerateAnswerForm(), "urgent": AnswerHold.SAFETY},
    )


@login_required
@require_http_methods(["GET", "POST"])
def moderate_answer(request: HttpRequest, answer_id: int) -> HttpResponse:
    answer = permissions.get_answer_for_moderator_or_404(request.user, answer_id)
    form = ModerateAnswerForm(posted(request))
    if request.method == "POST" and form.is_valid():
        publish = form.cleaned_data["decision"] == "publish"
        try:
            services.answer_moderate(
                actor=request.user, answer=answer, publish=publish, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Answer published." if publish else "Answer hidden.")
            return redirect("consultation_moderation")
    return render(
        request,
        "actionplan/consultations/moderate_answer.html",
        {"answer": answer, "form": form, "urgent": AnswerHold.SAFETY},
        status=400 if form.is_bound and form.errors else 200,
    )


# Closing the loop ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def change_check(request: HttpRequest, slug: str, check_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    check = permissions.get_change_check_or_404(request.user, plan, check_id)
    form = ChangeCheckForm(posted(request)) if check.answered_at is None else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            services.change_check_answer(actor=request.user, check=check, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Thank you: your answer is saved.")
            return redirect("plan_voice_impact", slug=plan.slug)
    return render(
        request,
        "actionplan/consultations/change_check.html",
        _context(request, plan, check=check, form=form),
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )


@require_GET
def voice_impact(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    with_comments = permissions.can_see_voice_impact_comments(request.user, plan)
    return render(
        request,
        "actionplan/consultations/impact.html",
        _context(request, plan, impact=selectors.impact(plan, with_comments), with_comments=with_comments),
    )
