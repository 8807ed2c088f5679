"""Reads for the voice pages: every list is one or two queries whatever its length."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Aggregate, Count, DurationField, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from actionplan.models import (
    Action,
    Comment,
    CommentStatus,
    CommentSuspension,
    Flag,
    Follow,
    ModerationDecision,
    Notification,
    Plan,
    Response,
)
from actionplan.voice import permissions
from stakeholders.permissions import AnyUser


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5) over an interval (one aggregate, no rows fetched)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass
class ThreadItem:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def _comment_qs() -> QuerySet[Comment]:
    return Comment.objects.select_related(
        "author", "response", "response__author", "response__action_changed", "action"
    ).order_by("created_at", "id")


def _visible_to(user: AnyUser) -> Q:
    """Published comments (deleted ones included, shown as deleted), the viewer's own, or everything for moderators."""
    if permissions.can_moderate(user):
        return Q()
    shown = Q(status=CommentStatus.VISIBLE)
    if user.is_authenticated:
        shown |= Q(author_id=user.pk)
    return shown


def thread(user: AnyUser, plan: Plan, action: Action | None = None) -> list[ThreadItem]:
    """The comments on a plan (or on one action), threaded: one query.

    Replies whose parent the viewer may not see are left out with it.
    """
    qs = _comment_qs().filter(plan=plan).filter(_visible_to(user))
    qs = qs.filter(action=action) if action is not None else qs.filter(action__isnull=True)
    items: dict[int, ThreadItem] = {}
    replies: list[Comment] = []
    for comment in qs:
        comment.plan = plan
        if comment.parent_id is None:
            items[comment.pk] = ThreadItem(comment)
        else:
            replies.append(comment)
    for reply in replies:
        parent = items.get(reply.parent_id)
        if parent is not None:
            parent.replies.append(reply)
    return list(items.values())


def is_following(user: AnyUser, plan: Plan) -> bool:
    return user.is_authenticated and Follow.objects.filter(user_id=user.pk, plan=plan).exists()


@dataclass
class VoiceSummary:
    comments: int
    answered: int
    median_response: timedelta | None
    unanswered_overdue: int
    days: int  # VOICE_UNANSWERED_DAYS when it was counted

    @property
    def response_rate(self) -> int | None:
        return round(100 * self.answered / self.comments) if self.comments else None


def _published(plan: Plan) -> QuerySet[Comment]:
    return Comment.objects.filter(plan=plan, status=CommentStatus.VISIBLE, deleted_at__isnull=True)


def summary(plan: Plan) -> VoiceSummary:
    """Response rate, median time to respond and comments unanswered past the deadline: one query."""
    cutoff = timezone.now() - timedelta(days=settings.VOICE_UNANSWERED_DAYS)
    row = _published(plan).aggregate(
        comments=Count("id"),
        answered=Count("id", filter=Q(response__isnull=False)),
        median=Median(F("response__created_at") - F("created_at"), filter=Q(response__isnull=False)),
        overdue=Count("id", filter=Q(response__isnull=True, created_at__lt=cutoff)),
    )
    return VoiceSummary(row["comments"], row["answered"], row["median"], row["overdue"], settings.VOICE_UNANSWERED_DAYS)


def you_said_we_did(plan: Plan) -> list[Comment]:
    """Every published comment on the plan and its actions, oldest first, with its response: one query."""
    comments = list(_comment_qs().filter(plan=plan, status=CommentStatus.VISIBLE, deleted_at__isnull=True))
    for comment in comments:
        comment.plan = plan
    return comments


def unanswered(plan: Plan) -> list[Comment]:
    """Published comments with no response after VOICE_UNANSWERED_DAYS (for the plan's managers): one query."""
    cutoff = timezone.now() - timedelta(days=settings.VOICE_UNANSWERED_DAYS)
    return list(
        _published(plan)
        .filter(response__isnull=True, created_at__lt=cutoff)
        .select_related("author", "action")
        .order_by("created_at", "id")
    )


def moderation_queue(user: AnyUser) -> list[Comment]:
    """Held or hidden comments and published ones with open flags, with their flags: two queries.

    Only comments of plans the moderator may view (``can_moderate_comment``).
    """
    from actionplan.permissions import plans_visible_to

    open_flags = Flag.objects.filter(dismissed_at__isnull=True)
    return list(
        Comment.objects.filter(plan__in=plans_visible_to(user))
        .filter(
            Q(status__in=[CommentStatus.HELD, CommentStatus.HIDDEN])
            | Q(Exists(open_flags.filter(comment=OuterRef("pk"))), deleted_at__isnull=True)
        )
        .select_related("author", "plan", "action")
        .prefetch_related(Prefetch("flags", queryset=open_flags.select_related("flagged_by"), to_attr="open_flags"))
        .order_by("created_at", "id")
    )


def recent_decisions(user: AnyUser, limit: int = 50) -> list[ModerationDecision]:
    """The latest decisions: on people, and on comments of plans the moderator may view."""
    from actionplan.permissions import plans_visible_to

    visible = Q(comment__isnull=True) | Q(comment__plan__in=plans_visible_to(user))
    return list(ModerationDecision.objects.filter(visible).select_related("moderator", "comment", "subject")[:limit])


def suspensions() -> list[CommentSuspension]:
    return list(CommentSuspension.objects.select_related("user", "suspended_by").order_by("-created_at"))


def notifications_for(user: AnyUser) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=user.pk).order_by("-created_at", "-id")


def unread_count(user: AnyUser) -> int:
    """The header's badge: one COUNT on a partial index, only for signed-in people."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def follows_for(user: AnyUser) -> QuerySet[Follow]:
    return Follow.objects.filter(user_id=user.pk).select_related("plan")


def responses_visible_to(user: AnyUser) -> QuerySet[Response]:
    from actionplan.permissions import plans_visible_to

    return Response.objects.filter(
        comment__plan__in=plans_visible_to(user),
        comment__status=CommentStatus.VISIBLE,
        comment__deleted_at__isnull=True,
    ).select_related("comment", "comment__plan", "author", "action_changed")


def comments_visible_to(user: AnyUser) -> QuerySet[Comment]:
    from actionplan.permissions import plans_visible_to

    return (
        Comment.objects.filter(plan__in=plans_visible_to(user))
        .filter(_visible_to(user))
        .select_related("author", "plan", "action", "response", "response__author")
        .order_by("created_at", "id")
    )
