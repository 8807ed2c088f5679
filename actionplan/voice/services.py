"""Every write about comments, responses, flags, moderation, follows and notifications.

Functions are ``thing_verb(*, actor, ...)``, keyword-only and atomic. They check the
permission they need through ``actionplan.voice.permissions`` (PermissionDenied when not
allowed) and raise ValidationError with a clear message for bad input. Emails go out
through Celery, enqueued on commit.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from actionplan import permissions as plan_permissions
from actionplan.models import (
    Action,
    ActionStatus,
    Comment,
    CommentStatus,
    CommentSuspension,
    Decision,
    Disposition,
    EmailMode,
    Flag,
    Follow,
    HoldReason,
    ModerationDecision,
    Notification,
    NotificationKind,
    NotificationKindPreference,
    NotificationPreference,
    Plan,
    PlanStatus,
    PlanStatusChange,
    Response,
)
from actionplan.voice import permissions
from actionplan.voice.risk import expresses_risk
from kernel.history import records_actor
from kernel.markdown import render_markdown
from stakeholders.models import Membership, Role, User

UNSUBSCRIBE_SALT = "actionplan.voice.unsubscribe"


ANY_VERSION = object()  # response_save: revise whatever response is there (the API's choice)


class RateLimited(ValidationError):
    """Too many comments in the last hour (the message says when to try again)."""


# Safety ------------------------------------------------------------------------------------


def mentions_safety_words(text: str) -> bool:
    """True when the text says its author is at risk (actionplan.voice.risk), or has a deployment's phrase."""
    return expresses_risk(text)


# Comments ----------------------------------------------------------------------------------


# The first key of the transaction-scoped advisory lock that serialises one person's comment
# posts (the second is their user id): an arbitrary constant, unique in the project.
COMMENT_RATE_LOCK = 25_001


def _check_rate(actor: User) -> None:
    """Refuse a comment past VOICE_COMMENT_RATE_LIMIT in the last hour.

    Runs inside comment_create's transaction and first takes an advisory lock on the author,
    held until that transaction ends: a burst of concurrent posts is counted one after the
    other, each seeing the ones committed before it, so the limit holds under concurrency.
    """
    limit = settings.VOICE_COMMENT_RATE_LIMIT
    if limit <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [COMMENT_RATE_LOCK, actor.pk])
    since = timezone.now() - timedelta(hours=1)
    recent = list(
        Comment.objects.filter(author=actor, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        wait = max(1, int((recent[0] + timedelta(hours=1) - timezone.now()).total_seconds() // 60) + 1)
        raise RateLimited(
            f"You have posted {limit} comments in the last hour, the most we take from one person. "
            f"Please try again in {wait} minute{'s' if wait != 1 else ''}. Nothing you wrote has been lost.",
            code="rate_limited",
        )


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Enter your comment."})
    if len(body) > 5000:
        raise ValidationError({"body": "Your comment must be 5,000 characters or fewer."})
    return body


def _moderators() -> list[User]:
    ids = Membership.objects.filter(role=Role.MODERATOR, user__is_active=True).values("user_id")
    return list(User.objects.filter(Q(pk__in=ids) | Q(is_superuser=True, is_active=True)).distinct())


def _hold_for_safety(comment: Comment) -> None:
    comment.status = CommentStatus.HELD
    comment.hold_reason = HoldReason.SAFETY
    for moderator in _moderators():
        # Only moderators who may view the plan hear of it (its title is in the notice).
        if moderator.pk != comment.author_id and plan_permissions.can_view_plan(moderator, comment.plan):
            notify(
                recipient=moderator,
                kind=NotificationKind.HELD_COMMENT,
                text=f"A comment on “{comment.plan.title}” mentions self-harm or suicide and is held for you.",
                url=reverse("voice_moderation_queue"),
                plan=comment.plan,
                comment=comment,
            )


def thread_url(comment: Comment) -> str:
    if comment.action_id:
        base = reverse("voice_action_thread", args=[comment.plan.slug, comment.action_id])
    else:
        base = reverse("voice_plan_thread", args=[comment.plan.slug])
    return f"{base}#comment-{comment.pk}"


@records_actor
@transaction.atomic
def comment_create(
    *,
    actor: User,
    plan: Plan,
    body: str,
    action: Action | None = None,
    parent: Comment | None = None,
    show_badge: bool = False,
) -> Comment:
    """Post a comment (or a reply) on a plan or one of its actions. Permission: ``can_comment``.

    A comment mentioning a safety word is held for a moderator (status ``held``) and the
    moderators are notified; the author is told at once where to get urgent help (the
    views show it when ``comment.hold_reason == "safety"``).
    """
    permissions.require(permissions.can_comment(actor, plan))
    body = _check_body(body)
    if action is not None and action.plan_id != plan.pk:
        raise ValidationError({"action": "That action belongs to another plan."})
    if parent is not None:
        if parent.plan_id != plan.pk:
            raise ValidationError({"parent": "You can only reply to a comment on the same plan."})
        if parent.parent_id is not None:
            raise ValidationError({"parent": "Replies go two levels deep: reply to the comment above instead."})
        if parent.is_deleted or parent.status != CommentStatus.VISIBLE:
            raise ValidationError({"parent": "That comment cannot take replies."})
        action = parent.action
    _check_rate(actor)
    comment = Comment(
        plan=plan,
        action=action,
        parent=parent,
        author=actor,
        body=body,
        body_html=str(render_markdown(body, ugc=True)),
        show_badge=bool(show_badge and actor.has_lived_experience),
    )
    comment.full_clean()
    comment.save()
    if mentions_safety_words(body):
        _hold_for_safety(comment)
        comment.save(update_fields=["status", "hold_reason"])
        return comment
    if parent is not None and parent.author_id != actor.pk:
        notify(
            recipient=parent.author,
            kind=NotificationKind.REPLY,
            text=f"{actor.display_name} replied to your comment on “{plan.title}”.",
            url=thread_url(comment),
            plan=plan,
            comment=comment,
        )
    # The people who answer for the plan hear of every published comment (not of their own, and
    # not twice: the parent's author was told of the reply above).
    told = {actor.pk, parent.author_id if parent is not None else None}
    where = f" on “{action.title}”" if action is not None else ""
    for person in plan_answerers(plan):
        if person.pk not in told:
            notify(
                recipient=person,
                kind=NotificationKind.NEW_COMMENT,
                text=f"{actor.display_name} commented{where} on “{plan.title}”.",
                url=thread_url(comment),
                plan=plan,
                comment=comment,
            )
    return comment


def plan_answerers(plan: Plan) -> list[User]:
    """Who answers comments for a plan: the people and organisation groups granted manage_plan or
    respond_plan on it (guardian), active, in a stable order. Superusers are not listed."""
    from guardian.shortcuts import get_users_with_perms

    users = get_users_with_perms(
        plan, only_with_perms_in=["manage_plan", "respond_plan"], with_group_users=True, with_superusers=False
    )
    return list(users.filter(is_active=True).order_by("pk"))


def lead_organisation_admins(plan: Plan) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, memberships__organisation_id=plan.lead_organisation_id, memberships__role=Role.ORG_ADMIN
        )
        .distinct()
        .order_by("pk")
    )


def comments_unanswered_notify(*, now: dt.datetime | None = None) -> int:
    """The daily beat job: a published comment with no official response after VOICE_UNANSWERED_DAYS
    goes to the plan's answerers; after twice that, to its lead organisation's admins too.

    Idempotent: each comment is told once per step (dedupe keys), however often the job runs.
    Returns how many notifications it made.
    """
    now = now or timezone.now()
    days = settings.VOICE_UNANSWERED_DAYS
    waiting = (
        Comment.objects.filter(
            status=CommentStatus.VISIBLE,
            deleted_at__isnull=True,
            response__isnull=True,
            parent__isnull=True,
            created_at__lt=now - timedelta(days=days),
            plan__status__in=[PlanStatus.CONSULTATION, PlanStatus.ACTIVE],
        )
        .select_related("plan", "author")
        .order_by("plan_id", "created_at", "pk")
    )
    made = 0
    answerers: dict[int, list[User]] = {}
    for comment in waiting:
        plan = comment.plan
        if plan.pk not in answerers:
            answerers[plan.pk] = plan_answerers(plan)
        steps = [("answerers", answerers[plan.pk], days)]
        if comment.created_at < now - timedelta(days=2 * days):
            steps.append(("admins", lead_organisation_admins(plan), 2 * days))
        for step, people, after in steps:
            for person in people:
                if person.pk == comment.author_id:
                    continue
                with transaction.atomic():
                    made += (
                        notify(
                            recipient=person,
                            kind=NotificationKind.UNANSWERED,
                            text=f"A comment on “{plan.title}” has waited more than {after} days for an official "
                            "response.",
                            url=thread_url(comment),
                            plan=plan,
                            comment=comment,
                            dedupe_key=f"unanswered:{comment.pk}:{step}",
                        )
                        is not None
                    )
    return made


@records_actor
@transaction.atomic
def comment_edit(*, actor: User, comment: Comment, body: str) -> Comment:
    """Change the text of one's own comment within VOICE_EDIT_MINUTES. Permission: ``can_edit_comment``."""
    permissions.require(permissions.can_edit_comment(actor, comment))
    body = _check_body(body)
    comment.body = body
    comment.body_html = str(render_markdown(body, ugc=True))
    comment.edited_at = timezone.now()
    fields = ["body", "body_html", "edited_at"]
    if mentions_safety_words(body) and comment.status == CommentStatus.VISIBLE:
        _hold_for_safety(comment)
        fields += ["status", "hold_reason"]
    comment.save(update_fields=fields)
    return comment


@records_actor
@transaction.atomic
def comment_delete(*, actor: User, comment: Comment) -> Comment:
    """Delete one's own comment: its text goes, the thread shows "deleted". Permission: ``can_delete_comment``."""
    permissions.require(permissions.can_delete_comment(actor, comment))
    comment.body = ""
    comment.body_html = ""
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["body", "body_html", "deleted_at"])
    return comment


# Official responses ------------------------------------------------------------------------


@records_actor
@transaction.atomic
def response_save(
    *,
    actor: User,
    comment: Comment,
    disposition: str,
    text: str,
    action_changed: Action | None = None,
    based_on: dt.datetime | object | None = ANY_VERSION,
) -> Response:
    """Give (or revise) the official response to a comment. Permission: ``can_respond``.

    An accepted comment names the action it changed; other dispositions name none.
    The comment's author is notified the first time a response is given. ``based_on`` is
    the ``updated_at`` of the response the writer saw (None: they saw none); when another
    manager has answered since, the write is refused and nothing is overwritten.
    """
    permissions.require(permissions.can_respond(actor, comment.plan))
    if comment.is_deleted or comment.status != CommentStatus.VISIBLE:
        raise ValidationError("Only published comments get an official response.")
    text = (text or "").strip()
    errors: dict[str, str] = {}
    if disposition not in Disposition.values:
        errors["disposition"] = "Choose what you decided."
    if not text:
        errors["text"] = "Enter your response."
    if disposition == Disposition.ACCEPTED and action_changed is None:
        errors["action_changed"] = "Choose the action this comment changed."
    if disposition != Disposition.ACCEPTED and action_changed is not None:
        errors["action_changed"] = "Only an accepted comment changes an action."
    if action_changed is not None and action_changed.plan_id != comment.plan_id:
        errors["action_changed"] = "That action belongs to another plan."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    response = Response.objects.select_for_update().filter(comment=comment).first()
    if based_on is not ANY_VERSION and (response.updated_at if response else None) != based_on:
        raise ValidationError(
            "Someone else answered this comment while you were writing. Read their response below, "
            "then change yours if you still need to: your text is still in the form.",
            code="stale",
        )
    first = response is None
    if first:
        response = Response(comment=comment, created_at=now)
    response.author = actor
    response.disposition = disposition
    response.text = text
    response.text_html = str(render_markdown(text))
    response.action_changed = action_changed
    response.updated_at = now
    response.full_clean(exclude=["comment"])
    response.save()
    if first and comment.author_id != actor.pk:
        notify(
            recipient=comment.author,
            kind=NotificationKind.RESPONSE,
            text=f"Your comment on “{comment.plan.title}” has an official response: "
            f"{Disposition(disposition).label.lower()}.",
            url=thread_url(comment),
            plan=comment.plan,
            comment=comment,
        )
    return response


# Flags and moderation ----------------------------------------------------------------------


@records_actor
@transaction.atomic
def flag_create(*, actor: User, comment: Comment, reason: str) -> Flag:
    """Flag a comment. Permission: ``can_flag_comment``. VOICE_FLAGS_TO_HOLD distinct flags hold it for review."""
    permissions.require(permissions.can_flag_comment(actor, comment))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this comment should be looked at."})
    if len(reason) > 500:
        raise ValidationError({"reason": "The reason must be 500 characters or fewer."})
    # Lock the comment so concurrent flags count each other.
    locked = Comment.objects.select_for_update().get(pk=comment.pk)
    if Flag.objects.filter(comment=locked, flagged_by=actor).exists():
        raise ValidationError("You have already flagged this comment.")
    flag = Flag.objects.create(comment=locked, flagged_by=actor, reason=reason)
    open_flags = Flag.objects.filter(comment=locked, dismissed_at__isnull=True).count()
    if open_flags >= settings.VOICE_FLAGS_TO_HOLD and locked.status == CommentStatus.VISIBLE:
        Comment.objects.filter(pk=locked.pk).update(status=CommentStatus.HELD, hold_reason=HoldReason.FLAGS)
        comment.status, comment.hold_reason = CommentStatus.HELD, HoldReason.FLAGS
        for moderator in _moderators():
            if not plan_permissions.can_view_plan(moderator, comment.plan):
                continue  # a moderator outside a partners-only plan does not hear of it
            notify(
                recipient=moderator,
                kind=NotificationKind.HELD_COMMENT,
                text=f"A comment on “{comment.plan.title}” was flagged {open_flags} times and is held for review.",
                url=reverse("voice_moderation_queue"),
                plan=comment.plan,
                comment=comment,
            )
    return flag


@records_actor
def _decide(*, actor: User, decision: str, reason: str, comment: Comment | None = None, subject: User | None = None):
    if not permissions.can_moderate(actor):
        raise PermissionDenied
    if comment is not None and not permissions.can_moderate_comment(actor, comment):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: every moderation decision is recorded with its reason."})
    return ModerationDecision.objects.create(
        moderator=actor, decision=decision, reason=reason, comment=comment, subject=subject
    )


@records_actor
@transaction.atomic
def comment_hide(*, actor: User, comment: Comment, reason: str) -> Comment:
    """Hide a comment from everyone but its author and moderators. Permission: ``can_moderate``."""
    _decide(actor=actor, decision=Decision.HIDE, reason=reason, comment=comment)
    comment.status, comment.hold_reason = CommentStatus.HIDDEN, HoldReason.MODERATOR
    comment.save(update_fields=["status", "hold_reason"])
    return comment


@records_actor
@transaction.atomic
def comment_restore(*, actor: User, comment: Comment, reason: str) -> Comment:
    """Publish a held or hidden comment and dismiss its open flags. Permission: ``can_moderate``."""
    _decide(actor=actor, decision=Decision.RESTORE, reason=reason, comment=comment)
    Flag.objects.filter(comment=comment, dismissed_at__isnull=True).update(dismissed_at=timezone.now())
    comment.status, comment.hold_reason = CommentStatus.VISIBLE, HoldReason.NONE
    comment.save(update_fields=["status", "hold_reason"])
    return comment


@records_actor
@transaction.atomic
def flags_dismiss(*, actor: User, comment: Comment, reason: str) -> int:
    """Dismiss the open flags on a comment and publish it if flags held it. Permission: ``can_moderate``."""
    _decide(actor=actor, decision=Decision.DISMISS, reason=reason, comment=comment)
    dismissed = Flag.objects.filter(comment=comment, dismissed_at__isnull=True).update(dismissed_at=timezone.now())
    if comment.status == CommentStatus.HELD and comment.hold_reason == HoldReason.FLAGS:
        comment.status, comment.hold_reason = CommentStatus.VISIBLE, HoldReason.NONE
        comment.save(update_fields=["status", "hold_reason"])
    return dismissed


@records_actor
@transaction.atomic
def user_suspend(*, actor: User, user: User, reason: str) -> CommentSuspension:
    """Stop someone commenting anywhere until a moderator lifts it. Permission: ``can_moderate``."""
    if user.pk == actor.pk:
        raise ValidationError("You cannot suspend yourself.")
    _decide(actor=actor, decision=Decision.SUSPEND, reason=reason, subject=user)
    suspension, _ = CommentSuspension.objects.update_or_create(
        user=user, defaults={"suspended_by": actor, "reason": reason.strip(), "created_at": timezone.now()}
    )
    return suspension


@records_actor
@transaction.atomic
def user_unsuspend(*, actor: User, user: User, reason: str) -> None:
    """Let a suspended person comment again. Permission: ``can_moderate``."""
    _decide(actor=actor, decision=Decision.UNSUSPEND, reason=reason, subject=user)
    CommentSuspension.objects.filter(user=user).delete()


# Follows -----------------------------------------------------------------------------------


@records_actor
@transaction.atomic
def follow_create(*, actor: User, plan: Plan) -> Follow:
    """Follow a plan one can see (idempotent). Permission: ``can_follow``."""
    if not actor.is_authenticated or not plan_permissions.can_view_plan(actor, plan):
        raise PermissionDenied
    if not permissions.can_follow(actor, plan):
        raise PermissionDenied("Confirm your email address first: open the link we emailed you.")
    follow, _ = Follow.objects.get_or_create(user=actor, plan=plan)
    return follow


@records_actor
@transaction.atomic
def follow_delete(*, actor: User, plan: Plan) -> bool:
    """Stop following a plan. Returns True when there was a follow to remove."""
    deleted, _ = Follow.objects.filter(user=actor, plan=plan).delete()
    return bool(deleted)


# Notifications -----------------------------------------------------------------------------


def email_mode_for(user: User, kind: str | None = None) -> str:
    """The person's email choice for a kind of notification: the kind's own, else their general one.

    Without a kind, the general choice (straight away when they never chose).
    """
    if kind:
        own = NotificationKindPreference.objects.filter(user=user, kind=kind).values_list("email_mode", flat=True)
        if (mode := own.first()) is not None:
            return mode
    pref = NotificationPreference.objects.filter(user=user).values_list("email_mode", flat=True).first()
    return pref or EmailMode.IMMEDIATE


def email_modes_by_kind(user: User) -> dict[str, str]:
    """Every kind's effective email choice for the person (two queries)."""
    general = email_mode_for(user)
    modes = dict.fromkeys(NotificationKind.values, general)
    modes.update(NotificationKindPreference.objects.filter(user=user).values_list("kind", "email_mode"))
    return modes


def own_kind_choices(user: User) -> dict[str, str]:
    """The kinds the person chose separately from their general choice, with that choice."""
    return dict(NotificationKindPreference.objects.filter(user=user).values_list("kind", "email_mode"))


def with_email_mode(notifications: QuerySet[Notification]) -> QuerySet[Notification]:
    """Annotate each notification with `mode`: its recipient's effective email choice for its kind."""
    own = NotificationKindPreference.objects.filter(user=OuterRef("recipient_id"), kind=OuterRef("kind"))
    general = NotificationPreference.objects.filter(user=OuterRef("recipient_id"))
    return notifications.annotate(
        mode=Coalesce(
            Subquery(own.values("email_mode")[:1]),
            Subquery(general.values("email_mode")[:1]),
            Value(EmailMode.IMMEDIATE),
        )
    )


def notify(
    *,
    recipient: User,
    kind: str,
    text: str,
    url: str,
    plan: Plan | None = None,
    comment: Comment | None = None,
    action: Action | None = None,
    dedupe_key: str = "",
) -> Notification | None:
    """Record a notification and, for people who want emails straight away, send one on commit.

    With a ``dedupe_key`` the notification is made at most once per recipient (None if it exists).
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"{kind!r} is not a NotificationKind")
    if dedupe_key and Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists():
        return None
    notification = Notification.objects.create(
        recipient=recipient,
        kind=kind,
        text=text[:300],
        url=url,
        plan=plan,
        comment=comment,
        action=action,
        dedupe_key=dedupe_key,
    )
    if recipient.is_active and email_mode_for(recipient, kind) == EmailMode.IMMEDIATE:
        from actionplan.voice import tasks

        transaction.on_commit(lambda: tasks.notification_email_send.delay(notification.pk))
    return notification


@records_actor
@transaction.atomic
def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    if notification.recipient_id != actor.pk:
        raise PermissionDenied
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@records_actor
@transaction.atomic
def notifications_mark_all_read(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


@records_actor
@transaction.atomic
def preference_set(
    *, actor: User, email_mode: str | None = None, kinds: dict[str, str] | None = None
) -> NotificationPreference | None:
    """Save the person's general email choice and, per kind in `kinds`, their choice for that kind.

    A kind mapped to "" follows the general choice again. Only the person themself calls it.
    """
    kinds = kinds or {}
    if email_mode is not None and email_mode not in EmailMode.values:
        raise ValidationError({"email_mode": "Choose how you want your notifications by email."})
    for kind, mode in kinds.items():
        if kind not in NotificationKind.values or mode not in ("", *EmailMode.values):
            raise ValidationError({f"kind_{kind}": "Choose straight away, a daily digest or off."})
    pref = None
    now = timezone.now()
    if email_mode is not None:
        pref, _ = NotificationPreference.objects.update_or_create(
            user=actor, defaults={"email_mode": email_mode, "updated_at": now}
        )
    for kind, mode in kinds.items():
        if mode:
            NotificationKindPreference.objects.update_or_create(
                user=actor, kind=kind, defaults={"email_mode": mode, "updated_at": now}
            )
        else:
            NotificationKindPreference.objects.filter(user=actor, kind=kind).delete()
    return pref


@records_actor
def notify_plan_status_changed(*, plan: Plan, old: str, new: str, actor: User | None) -> int:
    """Tell the plan's followers (who may still see it) that its status changed. Returns how many were told."""
    if old == new:
        return 0
    labels = dict(PlanStatus.choices)
    told = 0
    follows = Follow.objects.filter(plan=plan).select_related("user")
    for follow in follows:
        follower = follow.user
        if actor is not None and follower.pk == actor.pk:
            continue
        if not follower.is_active or not plan_permissions.can_view_plan(follower, plan):
            continue
        notify(
            recipient=follower,
            kind=NotificationKind.PLAN_STATUS,
            text=f"“{plan.title}” is now {labels.get(new, new).lower()} (it was {labels.get(old, old).lower()}).",
            url=reverse("voice_plan_thread", args=[plan.slug]),
            plan=plan,
        )
        told += 1
    return told


@records_actor
def notify_action_changed(*, action: Action, changed: dict, actor: User | None) -> int:
    """Tell the plan's followers (who may still see it) that an action's status, progress or due
    date changed: one notification each per save, however many of the three changed."""
    labels = dict(ActionStatus.choices)
    parts = []
    for name, (old, new) in changed.items():
        if name == "status":
            parts.append(f"now {labels.get(new, new).lower()} (was {labels.get(old, old).lower()})")
        elif name == "progress":
            parts.append(f"{new}% done (was {old}%)")
        else:
            parts.append(f"due {new:%-d %B %Y}" if new else "no longer has a due date")
    plan = action.plan
    told = 0
    for follow in Follow.objects.filter(plan=plan).select_related("user").order_by("pk"):
        follower = follow.user
        if (actor is not None and follower.pk == actor.pk) or not follower.is_active:
            continue
        if not plan_permissions.can_view_plan(follower, plan):
            continue
        notify(
            recipient=follower,
            kind=NotificationKind.ACTION_CHANGED,
            text=f"“{action.title}” on “{plan.title}”: {', '.join(parts)}.",
            url=reverse("voice_action_thread", args=[plan.slug, action.pk]),
            plan=plan,
            action=action,
        )
        told += 1
    return told


def plan_status_changes_process() -> int:
    """Tell followers about plan status changes the database trigger recorded (beat job, every minute).

    Idempotent and safe with several workers: each change is locked (SKIP LOCKED), its
    followers notified and the row marked notified in one transaction.
    """
    processed = 0
    while True:
        with transaction.atomic():
            change = (
                PlanStatusChange.objects.select_for_update(skip_locked=True)
                .filter(notified_at__isnull=True)
                .select_related("plan")
                .order_by("id")
                .first()
            )
            if change is None:
                return processed
            actor = User.objects.filter(pk=change.actor_id).first() if change.actor_id else None
            notify_plan_status_changed(plan=change.plan, old=change.old_status, new=change.new_status, actor=actor)
            change.notified_at = timezone.now()
            change.save(update_fields=["notified_at"])
            processed += 1


def actions_overdue_notify(*, today: dt.date | None = None) -> int:
    """Tell each accountable lead about actions past their due date (the daily beat job).

    Idempotent: one notification per action per overdue episode. An episode is keyed by
    the action and its due date, so a re-run (or a re-delivered task) adds nothing, and
    moving the due date starts a new episode if the new date is missed too.
    """
    today = today or timezone.localdate()
    overdue = (
        Action.objects.filter(due_date__lt=today, lead__isnull=False, lead__is_active=True)
        .exclude(status=ActionStatus.DONE)
        .filter(plan__status__in=[PlanStatus.ACTIVE, PlanStatus.CONSULTATION])
        .select_related("plan", "lead")
    )
    made = 0
    for action in overdue:
        with transaction.atomic():
            notification = notify(
                recipient=action.lead,
                kind=NotificationKind.ACTION_OVERDUE,
                text=f"“{action.title}” on “{action.plan.title}” was due on {action.due_date:%d %B %Y} "
                "and is not done.",
                url=reverse("voice_action_thread", args=[action.plan.slug, action.pk]),
                plan=action.plan,
                action=action,
                dedupe_key=f"overdue:{action.pk}:{action.due_date.isoformat()}",
            )
        made += notification is not None
    return made


# Email -------------------------------------------------------------------------------------


def unsubscribe_token(user: User, kind: str = "") -> str:
    """A signed token for one-click unsubscribe: from one kind of notification, or (no kind) from all."""
    data = {"u": user.pk, "k": kind} if kind else {"u": user.pk}
    return signing.dumps(data, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_target(token: str) -> tuple[User, str] | None:
    """(person, kind or "" for every kind) named by an unsubscribe token, or None when it is not ours."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    kind = data.get("k", "")
    if user is None or (kind and kind not in NotificationKind.values):
        return None
    return user, kind


def user_from_unsubscribe_token(token: str) -> User | None:
    target = unsubscribe_target(token)
    return target[0] if target else None


def unsubscribe_url(user: User, kind: str = "") -> str:
    return settings.SITE_URL.rstrip("/") + reverse("voice_unsubscribe", args=[unsubscribe_token(user, kind)])


@transaction.atomic
def unsubscribe(*, user: User, kind: str = "") -> NotificationPreference | NotificationKindPreference:
    """Stop notification emails to this person: of one kind, or of every kind (no kind).

    They still see notifications in the portal. The signed token is the permission.
    """
    now = timezone.now()
    if kind:
        pref, _ = NotificationKindPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email_mode": EmailMode.OFF, "updated_at": now}
        )
        return pref
    NotificationKindPreference.objects.filter(user=user).update(email_mode=EmailMode.OFF, updated_at=now)
    pref, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_mode": EmailMode.OFF, "updated_at": now}
    )
    return pref


def _send(user: User, subject: str, template: str, context: dict, kind: str = "") -> None:
    link = unsubscribe_url(user, kind)
    context = {**context, "user": user, "unsubscribe_url": link, "site_url": settings.SITE_URL.rstrip("/")}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.send()


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification to someone who wants emails straight away (idempotent)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        user = notification.recipient
        if not user.is_active or email_mode_for(user, notification.kind) != EmailMode.IMMEDIATE:
            return False
        _send(
            user,
            notification.text,
            "emails/voice/notification.txt",
            {"notification": notification, "kind_label": NotificationKind(notification.kind).label},
            kind=notification.kind,
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def digest_send(*, user_id: int) -> int:
    """One email with every notification not yet emailed to a digest reader (idempotent). Returns how many."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None:
            return 0
        pending = list(
            with_email_mode(Notification.objects.filter(recipient=user, emailed_at__isnull=True))
            .filter(mode=EmailMode.DIGEST)
            .select_related("plan")
            .order_by("created_at", "id")
        )
        if not pending:
            return 0
        subject = f"Your London mental health portal digest: {len(pending)} update{'s' if len(pending) != 1 else ''}"
        _send(user, subject, "emails/voice/digest.txt", {"notifications": pending})
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return len(pending)


def digest_recipients() -> list[int]:
    """People with notifications not yet emailed of a kind they read in a daily digest."""
    return list(
        with_email_mode(Notification.objects.filter(emailed_at__isnull=True, recipient__is_active=True))
        .filter(mode=EmailMode.DIGEST)
        .order_by()
        .values_list("recipient_id", flat=True)
        .distinct()
    )
