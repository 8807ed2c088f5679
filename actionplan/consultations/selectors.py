"""Reads for consultations, their results, the moderation queue and a plan's voice impact.

The results of a consultation are counted in SQL and published through
``actionplan.consultations.disclosure``: a fixed number of queries at any number of answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from actionplan.consultations import disclosure
from actionplan.consultations.disclosure import Breakdown
from actionplan.models import (
    SCALE_POINTS,
    ActionStatus,
    ChangeCheck,
    Comment,
    CommentStatus,
    Consultation,
    ConsultationAnswer,
    Disposition,
    Participation,
    Plan,
    Question,
    QuestionKind,
    RespondentGroup,
)
from stakeholders.permissions import AnyUser

GROUP_LABELS = {
    RespondentGroup.SERVICE_USER: "Service users",
    RespondentGroup.CARER: "Carers",
    RespondentGroup.STAFF: "Staff",
    "": "Did not say",
}
MAX_TEXTS = 200


def consultations_for_plan(user: AnyUser, plan: Plan, managers: bool) -> QuerySet[Consultation]:
    """The plan's consultations the user may see (drafts for its managers), with how many answered."""
    qs = Consultation.objects.filter(plan=plan)
    if not managers:
        qs = qs.filter(published_at__isnull=False)
    return qs.select_related("action").annotate(n_people=Count("participations")).order_by("-opens_on", "-pk")


def questions(consultation: Consultation) -> list[Question]:
    return list(consultation.questions.order_by("position", "pk"))


@dataclass
class QuestionResult:
    question: Question
    breakdown: Breakdown | None = None  # choice and scale questions
    mean: float | None = None  # scale questions, when it may be shown
    texts: list[str] = field(default_factory=list)  # free text: published answers only
    answered: int | None = None  # None when fewer than 5
    waiting: int = 0  # free text not yet read by a moderator (a count, never shown under 5)


@dataclass
class Results:
    respondents: int | None  # None: fewer than 5
    groups: Breakdown
    questions: list[QuestionResult]


CHOICE_COUNTS = """
    SELECT a.question_id, c.choice, COUNT(*)
    FROM actionplan_consultationanswer a
    JOIN actionplan_question q ON q.id = a.question_id
    CROSS JOIN LATERAL unnest(a.choices) AS c(choice)
    WHERE q.consultation_id = %s
    GROUP BY a.question_id, c.choice
"""


def _choice_counts(consultation: Consultation) -> dict[tuple[int, int], int]:
    with connection.cursor() as cursor:
        cursor.execute(CHOICE_COUNTS, [consultation.pk])
        return {(q, c): n for q, c, n in cursor.fetchall()}


def _published(n: int) -> int | None:
    return n if n >= disclosure.MIN_SHOWN else None


def results(consultation: Consultation, items: list[Question] | None = None) -> Results:
    """The public summary of a consultation's answers, small numbers controlled (five queries at any size:
    the questions unless given, the groups, the answered counts, the scale points, the options; plus one
    for the published free text)."""
    items = questions(consultation) if items is None else items
    group_rows = dict(
        Participation.objects.filter(consultation=consultation).values_list("group").annotate(n=Count("pk"))
    )
    group_keys = [*RespondentGroup.values, ""]
    groups = disclosure.partition([GROUP_LABELS[k] for k in group_keys], [group_rows.get(k, 0) for k in group_keys])
    answers = ConsultationAnswer.objects.filter(question__consultation=consultation)
    answered = dict(answers.values_list("question_id").annotate(n=Count("pk")))
    waiting = dict(
        answers.filter(~Q(status=CommentStatus.VISIBLE), hold_reason__in=["review", "safety"])
        .values_list("question_id")
        .annotate(n=Count("pk"))
    )
    scale = {
        (q, s): n
        for q, s, n in answers.filter(scale__isnull=False).values_list("question_id", "scale").annotate(n=Count("pk"))
    }
    choices = _choice_counts(consultation) if any(q.is_choice for q in items) else {}
    text_ids = [q.pk for q in items if q.kind == QuestionKind.TEXT]
    texts: dict[int, list[str]] = {}
    if text_ids:
        for question_id, text in (
            answers.filter(question_id__in=text_ids, status=CommentStatus.VISIBLE)
            .order_by("question_id", "pk")
            .values_list("question_id", "text")[: MAX_TEXTS * len(text_ids)]
        ):
            texts.setdefault(question_id, []).append(text)
    out: list[QuestionResult] = []
    for q in items:
        n = answered.get(q.pk, 0)
        result = QuestionResult(question=q, answered=_published(n))
        if q.kind == QuestionKind.SINGLE:
            result.breakdown = disclosure.partition(
                q.options, [choices.get((q.pk, i), 0) for i in range(len(q.options))]
            )
        elif q.kind == QuestionKind.MULTIPLE:
            result.breakdown = disclosure.independent(
                q.options, [choices.get((q.pk, i), 0) for i in range(len(q.options))], n
            )
        elif q.kind == QuestionKind.SCALE:
            values = [scale.get((q.pk, s), 0) for s in SCALE_POINTS]
            result.breakdown = disclosure.partition([_scale_label(q, s) for s in SCALE_POINTS], values)
            result.mean = disclosure.published_mean(result.breakdown, SCALE_POINTS, values)
        else:
            result.texts = texts.get(q.pk, [])[:MAX_TEXTS]
            result.waiting = waiting.get(q.pk, 0)
        out.append(result)
    return Results(respondents=_published(sum(group_rows.values())), groups=groups, questions=out)


def _scale_label(question: Question, point: int) -> str:
    if point == 1 and question.scale_low:
        return f"1 ({question.scale_low})"
    if point == 5 and question.scale_high:
        return f"5 ({question.scale_high})"
    return str(point)


def own_participation(user: AnyUser, consultation: Consultation) -> Participation | None:
    """The person's answers so far (answers prefetched), or None."""
    if not user.is_authenticated:
        return None
    return Participation.objects.filter(consultation=consultation, user=user).prefetch_related("answers").first()


def export_rows(consultation: Consultation) -> tuple[list[str], list[list[Any]]]:
    """Every answer, one row per person (the plan's managers' download; kernel.downloads makes it safe)."""
    items = questions(consultation)
    header = ["respondent", "answering_as", "submitted_at", "updated_at"]
    for q in items:
        header.append(f"Q{q.position}: {q.text}")
        if q.kind == QuestionKind.TEXT:
            header.append(f"Q{q.position} moderation")
    rows: list[list[Any]] = []
    participations = (
        Participation.objects.filter(consultation=consultation)
        .prefetch_related("answers")
        .order_by("submitted_at", "pk")
    )
    for number, p in enumerate(participations, start=1):
        by_question = {a.question_id: a for a in p.answers.all()}
        # A number, not a name: the export goes to planners, who need the answers, not who gave them.
        row: list[Any] = [number, p.get_group_display() if p.group else "", p.submitted_at, p.updated_at]
        for q in items:
            a = by_question.get(q.pk)
            if q.kind == QuestionKind.TEXT:
                row += [a.text if a else "", a.get_status_display() if a else ""]
            elif q.kind == QuestionKind.SCALE:
                row.append(a.scale if a else "")
            else:
                row.append("; ".join(q.options[i] for i in a.choices if i < len(q.options)) if a else "")
        rows.append(row)
    return header, rows


def answers_waiting(user: AnyUser) -> QuerySet[ConsultationAnswer]:
    """Free-text answers held for a moderator, on plans the moderator may see (the caller filters by plan)."""
    return (
        ConsultationAnswer.objects.filter(question__kind=QuestionKind.TEXT)
        .exclude(status=CommentStatus.VISIBLE)
        .filter(hold_reason__in=["review", "safety"])
        .select_related("question__consultation__plan")
        .order_by("-hold_reason", "pk")
    )


def consultation_history(consultation: Consultation) -> list[Any]:
    """Changes to the consultation and its questions, newest first (pghistory events)."""
    events = list(
        Consultation.pgh_event_model.objects.filter(pgh_obj_id=consultation.pk).order_by("-pgh_created_at", "-pgh_id")[
            :100
        ]
    )
    events += list(
        Question.pgh_event_model.objects.filter(consultation_id=consultation.pk).order_by("-pgh_created_at", "-pgh_id")[
            :200
        ]
    )
    return sorted(events, key=lambda e: (e.pgh_created_at, e.pgh_id), reverse=True)


# Voice impact ----------------------------------------------------------------------------------


@dataclass
class Impact:
    asks: int
    responded: int
    accepted: int
    actions_changed: int
    actions_done: list[Any]
    ratings: Breakdown
    mean: float | None
    asked: int
    answered: int
    comments: list[ChangeCheck]


def impact(plan: Plan, with_comments: bool) -> Impact:
    """A plan's voice impact (four queries, five with the comments for its answerers): what people
    asked, what was accepted, the actions done because of it and how the people asked rated the change."""
    asks = Comment.objects.filter(plan=plan, parent__isnull=True, deleted_at__isnull=True, status=CommentStatus.VISIBLE)
    counts = asks.aggregate(
        asks=Count("pk"),
        responded=Count("pk", filter=Q(response__isnull=False)),
        accepted=Count("pk", filter=Q(response__disposition=Disposition.ACCEPTED)),
        actions_changed=Count(
            "response__action_changed",
            filter=Q(response__disposition=Disposition.ACCEPTED),
            distinct=True,
        ),
    )
    done = list(
        plan.actions.filter(
            status=ActionStatus.DONE,
            responses__disposition=Disposition.ACCEPTED,
            responses__comment__in=asks,
        )
        .annotate(n_asks=Count("responses", distinct=True))
        .order_by("title", "pk")
    )
    checks = ChangeCheck.objects.filter(action__plan=plan)
    rating_rows = dict(checks.filter(rating__isnull=False).values_list("rating").annotate(n=Count("pk")))
    tallies = checks.aggregate(asked=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
    values = [rating_rows.get(s, 0) for s in SCALE_POINTS]
    ratings = disclosure.partition([str(s) for s in SCALE_POINTS], values)
    comments: list[ChangeCheck] = []
    if with_comments:
        comments = list(
            checks.filter(answered_at__isnull=False)
            .exclude(comment="")
            .select_related("action", "user")
            .order_by("-answered_at", "-pk")[:100]
        )
    return Impact(
        asks=counts["asks"],
        responded=counts["responded"],
        accepted=counts["accepted"],
        actions_changed=counts["actions_changed"],
        actions_done=done,
        ratings=ratings,
        mean=disclosure.published_mean(ratings, SCALE_POINTS, values),
        asked=tallies["asked"],
        answered=tallies["answered"],
        comments=comments,
    )
