"""Every write about consultations, their answers and closing the loop. Permissions: .permissions.

Who is told (actionplan.voice.services.notify, which follows each person's email choices):
- a consultation opens: the plan's followers who may see it (kind ``consultation``), once each;
- a free-text answer says its author may be at risk: the moderators who may see the plan
  (``held_answer``), and the author is shown where to get urgent help;
- an action named by an accepted official response becomes done: the authors of the comments
  it answered (``change_check``), once per person and action.
Nobody is told of their own act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from actionplan import permissions as plan_permissions
from actionplan.consultations import permissions
from actionplan.models import (
    CHOICE_KINDS,
    Action,
    ActionStatus,
    AnswerHold,
    ChangeCheck,
    CommentStatus,
    Consultation,
    ConsultationAnswer,
    Disposition,
    Follow,
    NotificationKind,
    Participation,
    Plan,
    Question,
    QuestionKind,
    RespondentGroup,
    Response,
)
from actionplan.voice import services as voice_services
from actionplan.voice.risk import expresses_risk
from kernel.concurrency import StaleEdit, update_versioned
from kernel.history import records_actor
from stakeholders.models import User

MAX_OPTIONS = 12
MAX_QUESTIONS = 30
MAX_TEXT = 3000
CONSULTATION_FIELDS = ("title", "introduction", "opens_on", "closes_on", "action")
QUESTION_FIELDS = ("kind", "text", "hint", "options", "required", "scale_low", "scale_high")


def _check_draft(consultation: Consultation) -> None:
    if consultation.published_at is not None:
        raise ValidationError("This consultation is open: its details and questions can no longer change.")


def _check_dates(opens_on: dt.date | None, closes_on: dt.date | None) -> None:
    if opens_on and closes_on and closes_on < opens_on:
        raise ValidationError({"closes_on": "The closing date must be on or after the opening date."})


def _check_action(plan: Plan, action: Action | None) -> None:
    if action is not None and action.plan_id != plan.pk:
        raise ValidationError({"action": "Choose one of this plan's actions."})


# Consultations -------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def consultation_create(
    *,
    actor: User,
    plan: Plan,
    title: str,
    introduction: str,
    opens_on: dt.date,
    closes_on: dt.date,
    action: Action | None = None,
) -> Consultation:
    """Write a draft consultation on a plan or one of its actions. Assumes ``can_manage_consultations``."""
    _check_dates(opens_on, closes_on)
    _check_action(plan, action)
    consultation = Consultation(
        plan=plan,
        action=action,
        title=(title or "").strip(),
        introduction=(introduction or "").strip(),
        opens_on=opens_on,
        closes_on=closes_on,
        created_by=actor,
    )
    consultation.full_clean()
    consultation.save()
    return consultation


@records_actor
@transaction.atomic
def consultation_update(
    *, actor: User, consultation: Consultation, expected_version: int, **values: Any
) -> Consultation:
    """Change a draft's details if it is still at ``expected_version`` (else StaleEdit; nothing written).

    Assumes ``can_edit_consultation``; refuses once the consultation is open.
    """
    unknown = set(values) - set(CONSULTATION_FIELDS)
    if unknown:
        raise ValueError(f"not consultation fields: {sorted(unknown)}")
    current = Consultation.objects.select_related("plan").get(pk=consultation.pk)
    if current.version != expected_version:
        raise StaleEdit(current, expected_version)
    _check_draft(current)
    for name, value in values.items():
        setattr(current, name, value.strip() if isinstance(value, str) else value)
    _check_dates(current.opens_on, current.closes_on)
    _check_action(current.plan, current.action)
    current.full_clean(exclude=["version"])
    update_versioned(
        consultation,
        expected_version=expected_version,
        values={**{n: getattr(current, n) for n in CONSULTATION_FIELDS}, "updated_at": timezone.now()},
    )
    return consultation


def _clean_question(values: dict[str, Any]) -> dict[str, Any]:
    kind = values.get("kind")
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": "Choose the kind of question."})
    text = (values.get("text") or "").strip()
    if not text:
        raise ValidationError({"text": "Enter the question."})
    options: list[str] = []
    for option in values.get("options") or []:
        option = (option or "").strip()
        if option and option not in options:
            options.append(option)
    if kind in CHOICE_KINDS:
        if len(options) < 2:
            raise ValidationError({"options": "Give at least two options, one on each line."})
        if len(options) > MAX_OPTIONS:
            raise ValidationError({"options": f"Give at most {MAX_OPTIONS} options."})
        if any(len(o) > 200 for o in options):
            raise ValidationError({"options": "Keep each option to 200 characters."})
    else:
        options = []
    return {
        "kind": kind,
        "text": text,
        "hint": (values.get("hint") or "").strip(),
        "options": options,
        "required": bool(values.get("required", True)),
        "scale_low": (values.get("scale_low") or "").strip() if kind == QuestionKind.SCALE else "",
        "scale_high": (values.get("scale_high") or "").strip() if kind == QuestionKind.SCALE else "",
    }


@records_actor
@transaction.atomic
def question_add(*, actor: User, consultation: Consultation, **values: Any) -> Question:
    """Add a question at the end of a draft. Assumes ``can_edit_consultation``."""
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    _check_draft(locked)
    if locked.questions.count() >= MAX_QUESTIONS:
        raise ValidationError(f"A consultation has at most {MAX_QUESTIONS} questions: keep it short.")
    cleaned = _clean_question(values)
    last = locked.questions.aggregate(last=Max("position"))["last"] or 0
    question = Question(consultation=locked, position=last + 1, **cleaned)
    question.full_clean()
    question.save()
    return question


@records_actor
@transaction.atomic
def question_update(*, actor: User, question: Question, **values: Any) -> Question:
    """Change a draft's question. Assumes ``can_edit_consultation``."""
    Consultation.objects.select_for_update().get(pk=question.consultation_id)
    _check_draft(Consultation.objects.get(pk=question.consultation_id))
    cleaned = _clean_question({**{n: getattr(question, n) for n in QUESTION_FIELDS}, **values})
    for name, value in cleaned.items():
        setattr(question, name, value)
    question.full_clean()
    question.save()
    return question


@records_actor
@transaction.atomic
def question_delete(*, actor: User, question: Question) -> None:
    """Remove a question from a draft (its history keeps it). Assumes ``can_edit_consultation``."""
    Consultation.objects.select_for_update().get(pk=question.consultation_id)
    _check_draft(Consultation.objects.get(pk=question.consultation_id))
    question.delete()


@records_actor
@transaction.atomic
def question_move(*, actor: User, question: Question, up: bool) -> Question:
    """Swap a draft's question with the one before (``up``) or after it. Assumes ``can_edit_consultation``."""
    consultation = Consultation.objects.select_for_update().get(pk=question.consultation_id)
    _check_draft(consultation)
    order = list(consultation.questions.order_by("position", "pk"))
    index = next(i for i, q in enumerate(order) if q.pk == question.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    for position, item in enumerate(order, start=1):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])
    return next(q for q in order if q.pk == question.pk)


@records_actor
@transaction.atomic
def consultation_open(*, actor: User, consultation: Consultation, expected_version: int) -> Consultation:
    """Open a draft: it is published (answers are taken from its opening day to the end of its closing
    day) and can no longer be edited. Assumes ``can_edit_consultation``.

    Needs at least one question and a closing date not past. Invites the plan's followers who
    may see it (not the actor), once each: ``notify`` sends email on commit by their choices.
    """
    current = Consultation.objects.select_for_update().select_related("plan").get(pk=consultation.pk)
    if current.version != expected_version:
        raise StaleEdit(current, expected_version)
    _check_draft(current)
    if not current.questions.exists():
        raise ValidationError("Add at least one question before you open the consultation.")
    if current.closes_on < timezone.localdate():
        raise ValidationError({"closes_on": "The closing date has passed: change it before you open the consultation."})
    now = timezone.now()
    update_versioned(consultation, expected_version=expected_version, values={"published_at": now, "updated_at": now})
    plan = current.plan
    when = (
        f"until {current.closes_on:%-d %B %Y}"
        if current.opens_on <= timezone.localdate()
        else f"from {current.opens_on:%-d %B} to {current.closes_on:%-d %B %Y}"
    )
    url = reverse("consultation_detail", args=[plan.slug, current.pk])
    for follow in Follow.objects.filter(plan=plan).select_related("user").order_by("pk"):
        follower = follow.user
        if follower.pk == actor.pk or not follower.is_active or not plan_permissions.can_view_plan(follower, plan):
            continue
        voice_services.notify(
            recipient=follower,
            kind=NotificationKind.CONSULTATION,
            text=f"“{plan.title}” asks for your views: “{current.title}”, open {when}.",
            url=url,
            plan=plan,
            action=current.action,
            dedupe_key=f"consultation:{current.pk}",
        )
    return consultation


# Answers -------------------------------------------------------------------------------------


def _field(question: Question) -> str:
    return f"q{question.pk}"


def _parse(question: Question, raw: Any) -> dict[str, Any] | None:
    """One question's answer as stored, None when left blank. Raises ValidationError naming the field."""
    name = _field(question)
    if question.kind == QuestionKind.TEXT:
        text = (raw or "").strip() if isinstance(raw, str) else ""
        if len(text) > MAX_TEXT:
            raise ValidationError({name: f"Keep your answer to {MAX_TEXT:,} characters (this has {len(text):,})."})
        return {"text": text} if text else None
    if question.kind == QuestionKind.SCALE:
        if raw in (None, ""):
            return None
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if value not in range(1, 6):
            raise ValidationError({name: "Choose a number from 1 to 5."})
        return {"scale": value}
    values = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
    chosen: list[int] = []
    for item in values:
        try:
            index = int(item)
        except (TypeError, ValueError):
            index = -1
        if index not in range(len(question.options)):
            raise ValidationError({name: "Choose from the options given."})
        if index not in chosen:
            chosen.append(index)
    if question.kind == QuestionKind.SINGLE and len(chosen) > 1:
        raise ValidationError({name: "Choose one option."})
    return {"choices": sorted(chosen)} if chosen else None


def _missing_message(question: Question) -> str:
    if question.kind == QuestionKind.TEXT:
        return "Enter your answer to this question."
    if question.kind == QuestionKind.SCALE:
        return "Choose a number from 1 to 5."
    return "Choose an option." if question.kind == QuestionKind.SINGLE else "Choose at least one option."


@records_actor
@transaction.atomic
def answers_submit(
    *, actor: User, consultation: Consultation, answers: Mapping[int, Any], group: str = ""
) -> Participation:
    """Give (or change) one's answers to an open consultation: one set per person.

    ``answers`` maps a question's id to its raw answer (option indexes, a 1-5 number, or text).
    Permission: ``can_answer``, checked here under a row lock (no answer slips in after it
    closes). Every problem is reported at once, by question (``q<id>``). A question left
    blank on a change removes the earlier answer. New or changed free text waits for a
    moderator; text saying its author may be at risk tells the moderators at once.
    """
    locked = Consultation.objects.select_for_update().select_related("plan").get(pk=consultation.pk)
    if not permissions.can_answer(actor, locked):
        if locked.published_at is not None and not locked.is_open():
            raise ValidationError("This consultation is not open for answers.")
        raise PermissionDenied("You may not answer this consultation.")
    if group not in ("", *RespondentGroup.values):
        raise ValidationError({"group": "Choose who you are answering as, or leave it blank."})
    questions = list(locked.questions.order_by("position", "pk"))
    parsed: dict[int, dict[str, Any] | None] = {}
    errors: dict[str, list[str]] = {}
    for question in questions:
        try:
            parsed[question.pk] = _parse(question, answers.get(question.pk))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            continue
        if parsed[question.pk] is None and question.required:
            errors.setdefault(_field(question), []).append(_missing_message(question))
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    participation, created = Participation.objects.get_or_create(
        consultation=locked, user=actor, defaults={"group": group, "submitted_at": now, "updated_at": now}
    )
    if not created:
        participation.group = group
        participation.updated_at = now
        participation.save(update_fields=["group", "updated_at"])
    existing = {a.question_id: a for a in participation.answers.all()}
    at_risk = False
    for question in questions:
        value = parsed[question.pk]
        answer = existing.get(question.pk)
        if value is None:
            if answer is not None:
                answer.delete()
            continue
        if answer is None:
            answer = ConsultationAnswer(participation=participation, question=question)
        if question.kind == QuestionKind.TEXT:
            if answer.pk is None or answer.text != value["text"]:
                answer.text = value["text"]
                at_risk_now = expresses_risk(answer.text)
                at_risk = at_risk or at_risk_now
                answer.status = CommentStatus.HELD
                answer.hold_reason = AnswerHold.SAFETY if at_risk_now else AnswerHold.REVIEW
                answer.moderated_by, answer.moderated_at, answer.moderation_reason = None, None, ""
        else:
            answer.choices = value.get("choices", [])
            answer.scale = value.get("scale")
        answer.full_clean(exclude=["participation", "question"])
        answer.save()
    if at_risk:
        _tell_moderators(locked, actor)
    return participation


def _tell_moderators(consultation: Consultation, actor: User) -> None:
    plan = consultation.plan
    for moderator in voice_services._moderators():
        if moderator.pk != actor.pk and plan_permissions.can_view_plan(moderator, plan):
            voice_services.notify(
                recipient=moderator,
                kind=NotificationKind.HELD_ANSWER,
                text=f"An answer to “{consultation.title}” mentions self-harm or suicide and waits for you.",
                url=reverse("consultation_moderation"),
                plan=plan,
            )


@records_actor
@transaction.atomic
def answer_moderate(*, actor: User, answer: ConsultationAnswer, publish: bool, reason: str = "") -> ConsultationAnswer:
    """Publish or hide a free-text answer. Permission: ``can_moderate_answer`` (checked here).

    Hiding needs a reason (kept with the answer and in its history); publishing may have one.
    """
    if not permissions.can_moderate_answer(actor, answer):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not publish and not reason:
        raise ValidationError({"reason": "Say why you are hiding this answer."})
    answer.status = CommentStatus.VISIBLE if publish else CommentStatus.HIDDEN
    answer.hold_reason = AnswerHold.NONE if publish else AnswerHold.MODERATOR
    answer.moderated_by = actor
    answer.moderated_at = timezone.now()
    answer.moderation_reason = reason
    answer.save(update_fields=["status", "hold_reason", "moderated_by", "moderated_at", "moderation_reason"])
    return answer


# Closing the loop ----------------------------------------------------------------------------


@records_actor
def change_checks_request(*, action: Action, actor: User | None) -> int:
    """An action became done: ask the authors of the comments it answered whether it changed their
    experience. Called by ``actionplan.services.action_update`` in its transaction (the emails go
    on commit). Only accepted responses that name this action count; deleted comments and
    comments no longer published do not; a person already asked about this action is not asked
    again. Returns how many were asked."""
    if action.status != ActionStatus.DONE:
        return 0
    plan = action.plan
    responses = (
        Response.objects.filter(action_changed=action, disposition=Disposition.ACCEPTED)
        .filter(comment__deleted_at__isnull=True, comment__status=CommentStatus.VISIBLE)
        .select_related("comment__author")
        .order_by("comment__created_at", "pk")
    )
    asked = 0
    for response in responses:
        author = response.comment.author
        if not author.is_active or not plan_permissions.can_view_plan(author, plan):
            continue
        check, created = ChangeCheck.objects.get_or_create(action=action, user=author, defaults={"response": response})
        if not created:
            continue
        voice_services.notify(
            recipient=author,
            kind=NotificationKind.CHANGE_CHECK,
            text=f"You said, we did: “{action.title}” on “{plan.title}” is done. Did it change your experience?",
            url=reverse("change_check", args=[plan.slug, check.pk]),
            plan=plan,
            action=action,
            dedupe_key=f"change_check:{check.pk}",
        )
        asked += 1
    return asked


@records_actor
@transaction.atomic
def change_check_answer(*, actor: User, check: ChangeCheck, rating: int | None, comment: str = "") -> ChangeCheck:
    """Answer "did it make a difference": a rating from 1 to 5 and an optional comment, once.

    Permission (checked here): only the person asked.
    """
    locked = ChangeCheck.objects.select_for_update().get(pk=check.pk)
    if locked.user_id != actor.pk:
        raise PermissionDenied
    if locked.answered_at is not None:
        raise ValidationError("You have already answered this question: thank you.")
    if rating not in range(1, 6):
        raise ValidationError({"rating": "Choose a number from 1 to 5."})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": f"Keep your comment to 2,000 characters (this has {len(comment):,})."})
    locked.rating = rating
    locked.comment = comment
    locked.answered_at = timezone.now()
    locked.full_clean()
    locked.save(update_fields=["rating", "comment", "answered_at"])
    check.rating, check.comment, check.answered_at = locked.rating, locked.comment, locked.answered_at
    return check
