"""Every "may this user ...?" about comments, responses, flags, moderation and notifications.

Built on ``actionplan.permissions`` (who may see a plan, comment on it, respond to it):

- Reading a thread: anyone who may see the plan. Held and hidden comments are shown to
  their author and to moderators only; deleted ones show as "deleted" to everyone.
- Commenting: ``can_comment_on_plan`` and not suspended by a moderator.
- Editing: the author, within ``VOICE_EDIT_MINUTES`` of posting, while the plan is open
  for comment. Deleting: the author, at any time.
- Responding: ``can_respond_to_comments`` (plan managers and people granted respond).
- Flagging: anyone signed in who can see the comment, except its author.
- Moderating: superusers and anyone holding the moderator role in an organisation, on the
  comments of plans they may view (``can_moderate_comment``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from actionplan import permissions as plan_permissions
from actionplan.models import Comment, CommentStatus, CommentSuspension, Notification, Plan
from stakeholders.models import Role
from stakeholders.permissions import AnyUser, has_role, require

__all__ = [
    "can_comment",
    "can_delete_comment",
    "can_edit_comment",
    "can_flag_comment",
    "can_moderate",
    "can_moderate_comment",
    "can_respond",
    "can_see_comment",
    "get_comment_for_user_or_404",
    "get_notification_for_user_or_404",
    "is_suspended",
    "require",
]


def can_moderate(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or has_role(user, Role.MODERATOR)))


def can_moderate_comment(user: AnyUser, comment: Comment) -> bool:
    """Hide, restore or dismiss flags on this comment: a moderator who may view its plan.

    The moderator role is held in one organisation; it does not open partners-only plans
    that organisation is not part of (issue 25).
    """
    return can_moderate(user) and plan_permissions.can_view_plan(user, comment.plan)


def is_suspended(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_lmh_comment_suspended", None)
    if cached is None:
        cached = CommentSuspension.objects.filter(user_id=user.pk).exists()
        user._lmh_comment_suspended = cached  # type: ignore[union-attr]
    return cached


def is_unverified(user: AnyUser) -> bool:
    """Signed in with an address not yet confirmed (a sign-up whose link has not been opened)."""
    return user.is_authenticated and getattr(user, "email_verified_at", True) is None


def can_comment(user: AnyUser, plan: Plan) -> bool:
    """Write a comment or a reply on this plan or its actions (with a confirmed email address)."""
    return plan_permissions.can_comment_on_plan(user, plan) and not is_suspended(user) and not is_unverified(user)


def can_follow(user: AnyUser, plan: Plan) -> bool:
    """Follow a plan: signed in with a confirmed address, and the plan readable."""
    return user.is_authenticated and not is_unverified(user) and plan_permissions.can_view_plan(user, plan)


def can_respond(user: AnyUser, plan: Plan) -> bool:
    return plan_permissions.can_respond_to_comments(user, plan)


def can_see_comment(user: AnyUser, comment: Comment) -> bool:
    """The plan is readable and the comment is published (or it is the viewer's own, or a moderator's)."""
    if not plan_permissions.can_view_plan(user, comment.plan):
        return False
    if comment.status == CommentStatus.VISIBLE:
        return True
    return user.is_authenticated and (comment.author_id == user.pk or can_moderate(user))


def can_edit_comment(user: AnyUser, comment: Comment) -> bool:
    if not user.is_authenticated or comment.author_id != user.pk or comment.is_deleted:
        return False
    window = timedelta(minutes=settings.VOICE_EDIT_MINUTES)
    return timezone.now() - comment.created_at <= window and can_comment(user, comment.plan)


def can_delete_comment(user: AnyUser, comment: Comment) -> bool:
    return user.is_authenticated and comment.author_id == user.pk and not comment.is_deleted


def can_flag_comment(user: AnyUser, comment: Comment) -> bool:
    return (
        user.is_authenticated
        and comment.author_id != user.pk
        and not comment.is_deleted
        and comment.status == CommentStatus.VISIBLE
    )


def get_comment_for_user_or_404(user: AnyUser, pk: int | str, plan: Plan | None = None) -> Comment:
    """A comment the user may see (404 otherwise), with its plan and author loaded."""
    qs = Comment.objects.select_related("plan", "plan__lead_organisation", "author", "action", "parent")
    if plan is not None:
        qs = qs.filter(plan=plan)
    try:
        comment = qs.get(pk=pk)
    except (Comment.DoesNotExist, ValueError):
        raise Http404 from None
    if plan is not None:
        comment.plan = plan
    if not can_see_comment(user, comment):
        raise Http404
    return comment


def get_notification_for_user_or_404(user: AnyUser, pk: int | str) -> Notification:
    """Only the recipient ever sees a notification: anyone else gets 404."""
    try:
        return Notification.objects.get(pk=pk, recipient_id=user.pk)
    except (Notification.DoesNotExist, ValueError):
        raise Http404 from None
