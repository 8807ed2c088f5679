"""Service-user and carer voice: comments, official responses, flags, moderation, follows, notifications.

Every write goes through ``actionplan.voice.services``; every "may this user" through
``actionplan.voice.permissions`` (which builds on ``actionplan.permissions``).
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from actionplan.models.plans import Action, Plan

__all__ = [
    "Comment",
    "CommentStatus",
    "CommentSuspension",
    "Decision",
    "Disposition",
    "EmailMode",
    "Flag",
    "Follow",
    "HoldReason",
    "ModerationDecision",
    "Notification",
    "NotificationKind",
    "NotificationKindPreference",
    "NotificationPreference",
    "PlanStatusChange",
    "Response",
]


class CommentStatus(models.TextChoices):
    VISIBLE = "visible", "Visible"
    HELD = "held", "Held for a moderator"
    HIDDEN = "hidden", "Hidden"


class HoldReason(models.TextChoices):
    NONE = "", "None"
    SAFETY = "safety", "Mentions self-harm or suicide"
    FLAGS = "flags", "Flagged by several people"
    MODERATOR = "moderator", "Hidden by a moderator"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Comment(models.Model):
    """A comment on a plan, or on one of its actions; replies thread two levels deep."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="comments")
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="comments", null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, related_name="replies", null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField("comment", max_length=5000)
    body_html = models.TextField(editable=False, default="")
    show_badge = models.BooleanField("show my lived-experience badge", default=False)
    status = models.CharField(max_length=8, choices=CommentStatus.choices, default=CommentStatus.VISIBLE)
    hold_reason = models.CharField(max_length=10, choices=HoldReason.choices, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["plan", "created_at"], name="comment_plan_created"),
            models.Index(fields=["author", "created_at"], name="comment_author_created"),
            models.Index(fields=["status"], name="comment_status", condition=~Q(status="visible")),
        ]
        constraints = [
            models.CheckConstraint(name="comment_not_its_own_parent", condition=~Q(parent=models.F("id"))),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} by {self.author_id} on plan {self.plan_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def depth(self) -> int:
        """1 for a top-level comment, 2 for a reply (replies to replies are refused)."""
        return 1 if self.parent_id is None else 2


class Disposition(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    NOT_ACCEPTED = "not_accepted", "Not accepted"
    ALREADY_COVERED = "already_covered", "Already covered"
    UNDER_REVIEW = "under_review", "Under review"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Response(models.Model):
    """The official answer to a comment ("you said, we did"); one per comment."""

    comment = models.OneToOneField(Comment, on_delete=models.CASCADE, related_name="response")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="voice_responses")
    disposition = models.CharField(max_length=16, choices=Disposition.choices)
    text = models.TextField("response", max_length=5000)
    text_html = models.TextField(editable=False, default="")
    action_changed = models.ForeignKey(
        Action,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name="action it changed",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Response to comment {self.comment_id}: {self.disposition}"


class Flag(models.Model):
    """Someone signed in thinks a comment breaks the rules; one flag per person per comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_flags")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["comment", "flagged_by"], name="flag_once_per_person")]

    def __str__(self) -> str:
        return f"Flag on comment {self.comment_id}"


class Decision(models.TextChoices):
    HIDE = "hide", "Hid the comment"
    RESTORE = "restore", "Restored the comment"
    DISMISS = "dismiss", "Dismissed the flags"
    SUSPEND = "suspend", "Suspended the author from commenting"
    UNSUSPEND = "unsuspend", "Let the author comment again"


class ModerationDecision(models.Model):
    """Every moderator decision, with who and why (append-only)."""

    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(max_length=2000)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.decision} by {self.moderator_id}"


class CommentSuspension(models.Model):
    """A person a moderator stopped from commenting (until lifted)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_suspension")
    suspended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Suspension of {self.user_id}"


class Follow(models.Model):
    """Someone wants to hear when a plan changes status."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_follows")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "plan"], name="follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.plan_id}"


class NotificationKind(models.TextChoices):
    REPLY = "reply", "A reply to your comment"
    RESPONSE = "response", "An official response to your comment"
    PLAN_STATUS = "plan_status", "A plan you follow changed status"
    ACTION_CHANGED = "action_moved", "An action on a plan you follow changed status, progress or due date"
    ACTION_OVERDUE = "overdue", "An action you lead is overdue"
    HELD_COMMENT = "held", "A comment is waiting for a moderator"
    # To the people who answer for a plan (manage_plan or respond_plan grants).
    NEW_COMMENT = "new_comment", "A new comment on a plan you answer for"
    UNANSWERED = "unanswered", "A comment is still waiting for an official response"
    # Reporting schedules (commissioning.schedules): to the provider's data submitters.
    REPORT_DUE = "report_due", "Data your organisation must submit is due soon"
    REPORT_OVERDUE = "report_late", "Data your organisation must submit is overdue"
    # Review of outcome values (outcomes.services.outcome_values_review): to the provider's data submitters.
    DATA_REVIEW = "data_review", "A commissioner reviewed, queried or resolved your organisation's data"
    QUERY_ANSWER = "query_answer", "A provider answered your query about their data"
    TO_REVIEW = "to_review", "Submitted values are waiting for your review"
    # Partnership decisions (commissioning.decisions): a proposal to the members' people, a block
    # to the partnership's managers, an outcome to the members; minutes to a meeting's attendees.
    DECISION = "decision", "A partnership you belong to proposed, blocked or decided something"
    MINUTES = "minutes", "The minutes of a partnership meeting you attended"
    # Payment statements (commissioning.statements): to the contract's commissioner and provider sides.
    STATEMENT = "statement", "A payment statement was drafted, disputed, discussed or agreed"
    # Commitments (actionplan.commitments): to a partner's accountable officers when the plan asks
    # them to sign or their signature goes stale; to the plan's managers when a partner signs.
    COMMITMENT = "commitment", "A plan's commitments need your signature, or a partner signed them"
    # Duplicated work (actionplan.duplicates): to the managers of both plans of a pair.
    DUPLICATE = "duplicate", "A merge of duplicated work was proposed, made or split on a plan you manage"
    # Consultations (actionplan.consultations): an invitation to a plan's followers when one opens.
    CONSULTATION = "consultation", "A plan you follow opened a consultation"
    # Closing the loop: an action your comment changed is done; did it change your experience?
    CHANGE_CHECK = "change_check", "An action your comment changed is done: tell us if it made a difference"
    # A free-text consultation answer waits for a moderator.
    HELD_ANSWER = "held_answer", "A consultation answer is waiting for a moderator"
    # Quarterly stories (commissioning.narrative): a draft to the commissioners who may edit it, a
    # published story to the followers of plans in its area.
    STORY = "story", "A quarterly mental health story was drafted or published"


# A notification's kind is one of NotificationKind's values. The field carries no `choices`, so
# that a new kind needs no migration (every kind added used to write one that only restated the
# list): `actionplan.voice.services.notify` refuses a kind that is not a NotificationKind, the
# API and forms offer NotificationKind's choices, and labels come from NotificationKind.
KIND_MAX_LENGTH = 32


class Notification(models.Model):
    """One thing someone should know about, shown in the portal and sent by email."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=KIND_MAX_LENGTH, help_text="A NotificationKind value.")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    action = models.ForeignKey(Action, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Makes a notification idempotent where it must be sent once (an overdue episode).
    dedupe_key = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], name="notification_dedupe", condition=~Q(dedupe_key="")
            ),
        ]

    def __str__(self) -> str:
        return self.text


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", "Straight away, one email for each notification"
    DIGEST = "digest", "Once a day, in one digest email"
    OFF = "off", "Never: I will look in the portal"


class NotificationPreference(models.Model):
    """How a person wants their notifications by email (immediate when there is no row)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_mode = models.CharField("email me", max_length=10, choices=EmailMode.choices, default=EmailMode.IMMEDIATE)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email_mode}"


class NotificationKindPreference(models.Model):
    """How a person wants one kind of notification by email, overriding their general choice.

    The effective choice for a kind is this row's, else the person's NotificationPreference,
    else straight away (``actionplan.voice.services.email_mode_for``). One-click unsubscribe
    from a notification email turns off that email's kind only.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_kinds")
    kind = models.CharField(max_length=KIND_MAX_LENGTH, help_text="A NotificationKind value.")
    email_mode = models.CharField("email me", max_length=10, choices=EmailMode.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_kind_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.email_mode}"


class PlanStatusChange(models.Model):
    """A plan's status changed: written by a database trigger, so every path that changes it is seen.

    ``actionplan.voice.services.plan_status_changes_process`` (a Celery beat job every minute)
    tells the plan's followers and marks the row notified. The actor is read from the
    pghistory context the plans services set (``pghistory.context(user=...)``).
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+")
    old_status = models.CharField(max_length=12)
    new_status = models.CharField(max_length=12)
    actor_id = models.IntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], name="planstatuschange_pending", condition=Q(notified_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.old_status} -> {self.new_status}"


pgtrigger.register(
    pgtrigger.Trigger(
        name="voice_plan_status_changed",
        when=pgtrigger.After,
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__status__df=pgtrigger.F("new__status")),
        func="""
            INSERT INTO actionplan_planstatuschange (plan_id, old_status, new_status, actor_id, changed_at)
            VALUES (
                NEW.id, OLD.status, NEW.status,
                ((NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb) ->> 'user')::integer,
                now()
            );
            RETURN NULL;
        """,
    )
)(Plan)
