"""Consultations on a plan or an action, and closing the loop on "you said, we did" (issue 23).

A plan's managers write a consultation (title, introduction, the days it is open, questions of
four kinds) while it is a draft, then open it: the plan's followers are invited. Signed-in
service users, carers and staff answer once each (and may change their answers until it
closes). Results are public with small-number control (``actionplan.consultations.disclosure``);
free-text answers are moderated before they are shown.

Closing the loop: when an action named by an accepted official response becomes done, the
authors of the comments it answered are asked whether it changed their experience
(:class:`ChangeCheck`: a 1-5 rating and an optional comment, once each).

Every write goes through ``actionplan.consultations.services``; every "may this user" through
``actionplan.consultations.permissions``.
"""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from actionplan.models.plans import Action, Plan
from actionplan.models.voice import CommentStatus, Response
from kernel.concurrency import Versioned

__all__ = [
    "CHOICE_KINDS",
    "SCALE_POINTS",
    "AnswerHold",
    "ChangeCheck",
    "Consultation",
    "ConsultationAnswer",
    "ConsultationState",
    "Participation",
    "Question",
    "QuestionKind",
    "RespondentGroup",
]


class ConsultationState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Opens soon"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


@pghistory.track()
class Consultation(Versioned):
    """Questions put to service users, carers and staff about a plan, or one of its actions."""

    history_name_field = "title"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="consultations")
    action = models.ForeignKey(
        Action,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consultations",
        help_text="Leave empty to consult on the whole plan.",
    )
    title = models.CharField(max_length=200)
    introduction = models.TextField(
        help_text="Markdown. What you are asking about, why, and what you will do with the answers."
    )
    opens_on = models.DateField("opens on")
    closes_on = models.DateField("closes on", help_text="Answers are taken until the end of this day.")
    # Set once, when a manager opens it: the followers are invited then, and it can no longer be edited.
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "actionplan"
        ordering = ["-opens_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="consultation_closes_after_it_opens", condition=Q(closes_on__gte=models.F("opens_on"))
            ),
        ]
        indexes = [models.Index(fields=["plan", "published_at"], name="consultation_plan_published")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("consultation_detail", args=[self.plan.slug, self.pk])

    def state(self, today: dt.date | None = None) -> str:
        today = today or timezone.localdate()
        if self.published_at is None:
            return ConsultationState.DRAFT
        if today < self.opens_on:
            return ConsultationState.SCHEDULED
        if today > self.closes_on:
            return ConsultationState.CLOSED
        return ConsultationState.OPEN

    def state_label(self, today: dt.date | None = None) -> str:
        return ConsultationState(self.state(today)).label

    def is_open(self, today: dt.date | None = None) -> bool:
        return self.state(today) == ConsultationState.OPEN


class QuestionKind(models.TextChoices):
    SINGLE = "single", "One choice from a list"
    MULTIPLE = "multiple", "Any number of choices from a list"
    SCALE = "scale", "A scale from 1 to 5"
    TEXT = "text", "Free text"


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
SCALE_POINTS = (1, 2, 3, 4, 5)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Question(models.Model):
    """One question of a consultation, in its place in the order."""

    history_name_field = "text"

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=8, choices=QuestionKind.choices)
    text = models.CharField("question", max_length=300)
    hint = models.CharField(max_length=300, blank=True)
    options = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    # Scale questions: what 1 and 5 mean ("Very poor", "Very good").
    scale_low = models.CharField(max_length=60, blank=True, default="")
    scale_high = models.CharField(max_length=60, blank=True, default="")
    required = models.BooleanField(default=True)

    class Meta:
        app_label = "actionplan"
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS


class RespondentGroup(models.TextChoices):
    SERVICE_USER = "service_user", "Someone who uses mental health services"
    CARER = "carer", "A carer, family member or friend"
    STAFF = "staff", "Someone who works in health, care or a partner organisation"


@pghistory.track()
class Participation(models.Model):
    """One person's answers to one consultation (one each; changeable until it closes)."""

    history_name_field = "consultation"

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(
        "I am answering as", max_length=12, choices=RespondentGroup.choices, blank=True, default=""
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "actionplan"
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "user"], name="participation_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on consultation {self.consultation_id}"


class AnswerHold(models.TextChoices):
    NONE = "", "None"
    REVIEW = "review", "Waiting for a moderator to read it"
    SAFETY = "safety", "Says its author may be at risk"
    MODERATOR = "moderator", "Hidden by a moderator"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class ConsultationAnswer(models.Model):
    """One answer to one question. Free text is shown only once a moderator has published it."""

    history_name_field = "question"

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    # Choice questions: the indexes of the options chosen (options cannot change once it is open).
    choices = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    scale = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True, default="", max_length=3000)
    # Free text is moderated like comments: held until a moderator publishes (or hides) it.
    status = models.CharField(max_length=8, choices=CommentStatus.choices, default=CommentStatus.VISIBLE)
    hold_reason = models.CharField(max_length=10, choices=AnswerHold.choices, blank=True, default="")
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_reason = models.TextField(blank=True, default="", max_length=2000)

    class Meta:
        app_label = "actionplan"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["participation", "question"], name="answer_once_per_question"),
            models.CheckConstraint(
                name="answer_scale_1_to_5", condition=Q(scale__isnull=True) | Q(scale__gte=1, scale__lte=5)
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="answer_waiting", condition=~Q(status="visible")),
        ]

    def __str__(self) -> str:
        return f"Answer to question {self.question_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class ChangeCheck(models.Model):
    """Closing the loop: did the action someone's comment changed make a difference to them?

    Made when the action becomes done, for each author of a comment whose accepted response
    names it (once per person and action, however often it is reopened and done again).
    """

    history_name_field = "action"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="change_checks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    asked_at = models.DateTimeField(default=timezone.now)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, default="", max_length=2000)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "actionplan"
        ordering = ["-asked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["action", "user"], name="change_check_once_per_person"),
            models.CheckConstraint(
                name="change_check_rating_1_to_5", condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5)
            ),
            models.CheckConstraint(
                name="change_check_answered_has_rating",
                condition=Q(answered_at__isnull=True) | Q(rating__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Change check for {self.user_id} on action {self.action_id}"

    def get_absolute_url(self) -> str:
        return reverse("change_check", args=[self.action.plan.slug, self.pk])
