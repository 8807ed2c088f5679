"""Pages for comments, official responses, "you said, we did", moderation and notifications.

Thin views: parse a form, ask permissions, call a service or a selector, render.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.shortcuts import render as django_render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from actionplan import permissions as plan_permissions
from actionplan.models import Action, Comment, CommentStatus, HoldReason, NotificationKind, Plan, Response
from actionplan.voice import permissions, selectors, services
from actionplan.voice.forms import (
    CommentForm,
    EditCommentForm,
    FlagForm,
    ModerationForm,
    PreferenceForm,
    ResponseForm,
    SuspendForm,
)
from kernel.forms import add_service_errors
from stakeholders.models import User

NOTIFICATIONS_PAGE_SIZE = 25


def _duration(value: Any) -> str:
    """A timedelta in words for the summary ("3 days", "5 hours", "under an hour")."""
    if value is None:
        return "no answers yet"
    hours = value.total_seconds() / 3600
    if hours < 1:
        return "under an hour"
    if hours < 48:
        n = round(hours)
        return f"{n} hour{'s' if n != 1 else ''}"
    n = round(hours / 24)
    return f"{n} days"


def render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """django's render with what every voice page needs."""
    user = request.user
    context = {
        "can": lambda comment: comment_actions(user, comment),
        "duration": _duration,
        "unanswered_days": settings.VOICE_UNANSWERED_DAYS,
        "edit_minutes": settings.VOICE_EDIT_MINUTES,
        **context,
    }
    return django_render(request, template, context, status=status)


def _plan(request: HttpRequest, slug: str) -> Plan:
    return plan_permissions.get_plan_for_user_or_404(
        request.user, slug, queryset=Plan.objects.select_related("lead_organisation").prefetch_related("partners")
    )


def _action(request: HttpRequest, plan: Plan, action_id: int) -> Action:
    return plan_permissions.get_action_for_user_or_404(request.user, plan, action_id)


def _held_page(request: HttpRequest, comment: Comment) -> HttpResponse:
    """Shown straight after a comment is held for mentioning self-harm or suicide."""
    return render(request, "actionplan/voice/held.html", {"comment": comment, "plan": comment.plan})


def _thread_page(request: HttpRequest, plan: Plan, action: Action | None, form: CommentForm | None, status=200):
    user = request.user
    may_comment = permissions.can_comment(user, plan)
    if form is None and may_comment:
        form = CommentForm(user=user)
    context = {
        "plan": plan,
        "action": action,
        "items": selectors.thread(user, plan, action),
        "form": form if may_comment else None,
        "may_comment": may_comment,
        "suspended": permissions.is_suspended(user),
        "unverified": permissions.is_unverified(user),
        "may_respond": permissions.can_respond(user, plan),
        "following": selectors.is_following(user, plan),
        "summary": selectors.summary(plan),
        "post_url": request.path,
    }
    return render(request, "actionplan/voice/thread.html", context, status=status)


def _post_comment(request: HttpRequest, plan: Plan, action: Action | None, parent: Comment | None):
    """Shared POST handling for a new comment or a reply. Returns (response or None, form)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}"), None
    permissions.require(permissions.can_comment(request.user, plan))
    form = CommentForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            comment = services.comment_create(
                actor=request.user,
                plan=plan,
                action=action,
                parent=parent,
                body=form.cleaned_data["body"],
                show_badge=form.cleaned_data.get("show_badge", False),
            )
        except services.RateLimited as exc:
            form.add_error(None, exc)
            return None, form
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if comment.hold_reason == HoldReason.SAFETY:
                return _held_page(request, comment), form
            messages.success(request, "Your comment is published.")
            return redirect(services.thread_url(comment)), form
    return None, form


@require_http_methods(["GET", "POST"])
def plan_thread(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    form = None
    if request.method == "POST":
        done, form = _post_comment(request, plan, None, None)
        if done is not None:
            return done
    return _thread_page(request, plan, None, form, status=_form_status(form))


@require_http_methods(["GET", "POST"])
def action_thread(request: HttpRequest, slug: str, action_id: int) -> HttpResponse:
    plan = _plan(request, slug)
    action = _action(request, plan, action_id)
    form = None
    if request.method == "POST":
        done, form = _post_comment(request, plan, action, None)
        if done is not None:
            return done
    return _thread_page(request, plan, action, form, status=_form_status(form))


def _form_status(form: Any) -> int:
    if form is None or not form.errors:
        return 200
    codes = {e.code for e in form.non_field_errors().as_data()}
    return 429 if "rate_limited" in codes else 400


@login_required
@require_http_methods(["GET", "POST"])
def comment_reply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, slug)
    parent = permissions.get_comment_for_user_or_404(request.user, pk, plan=plan)
    permissions.require(permissions.can_comment(request.user, plan))
    if parent.parent_id is not None:
        # Replies go two levels deep: answer the comment at the top of the thread.
        return redirect("voice_comment_reply", slug=plan.slug, pk=parent.parent_id)
    form = CommentForm(user=request.user)
    if request.method == "POST":
        done, form = _post_comment(request, plan, parent.action, parent)
        if done is not None:
            return done
    return render(
        request,
        "actionplan/voice/reply.html",
        {"plan": plan, "parent": parent, "form": form},
        status=_form_status(form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, slug)
    comment = permissions.get_comment_for_user_or_404(request.user, pk, plan=plan)
    permissions.require(permissions.can_edit_comment(request.user, comment))
    form = EditCommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_edit(actor=request.user, comment=comment, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if comment.hold_reason == HoldReason.SAFETY:
                return _held_page(request, comment)
            messages.success(request, "Your comment is updated.")
            return redirect(services.thread_url(comment))
    return render(request, "actionplan/voice/edit.html", {"plan": plan, "comment": comment, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def comment_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, slug)
    comment = permissions.get_comment_for_user_or_404(request.user, pk, plan=plan)
    permissions.require(permissions.can_delete_comment(request.user, comment))
    if request.method == "POST":
        services.comment_delete(actor=request.user, comment=comment)
        messages.success(request, "Your comment is deleted.")
        return redirect(services.thread_url(comment))
    return render(request, "actionplan/voice/delete.html", {"plan": plan, "comment": comment})


@login_required
@require_http_methods(["GET", "POST"])
def comment_flag(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, slug)
    comment = permissions.get_comment_for_user_or_404(request.user, pk, plan=plan)
    permissions.require(permissions.can_flag_comment(request.user, comment))
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.flag_create(actor=request.user, comment=comment, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Thank you. A moderator will look at the comment.")
            return redirect(services.thread_url(comment))
    return render(request, "actionplan/voice/flag.html", {"plan": plan, "comment": comment, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def comment_respond(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, slug)
    comment = permissions.get_comment_for_user_or_404(request.user, pk, plan=plan)
    permissions.require(permissions.can_respond(request.user, plan))
    existing = getattr(comment, "response", None)
    initial = (
        {
            "disposition": existing.disposition,
            "text": existing.text,
            "action_changed": existing.action_changed_id,
            "based_on": existing.updated_at.isoformat(),
        }
        if existing
        else {"based_on": ""}
    )
    form = ResponseForm(request.POST or None, plan=plan, initial=initial)
    based_on = form["based_on"].value() or ""
    if request.method == "POST" and form.is_valid():
        try:
            services.response_save(actor=request.user, comment=comment, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            if getattr(exc, "code", None) == "stale":
                # Show the response that is there now beside the writer's own text, and base
                # the next attempt on it.
                existing = Response.objects.select_related("author").filter(comment=comment).first()
                based_on = existing.updated_at.isoformat() if existing else ""
        else:
            messages.success(request, "Your response is published.")
            return redirect(services.thread_url(comment))
    return render(
        request,
        "actionplan/voice/respond.html",
        {"plan": plan, "comment": comment, "form": form, "current": existing, "based_on": based_on},
        status=400 if form.errors else 200,
    )


@require_GET
def you_said_we_did(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    may_respond = permissions.can_respond(request.user, plan)
    context = {
        "plan": plan,
        "comments": selectors.you_said_we_did(plan),
        "summary": selectors.summary(plan),
        "unanswered": selectors.unanswered(plan) if may_respond else [],
        "may_respond": may_respond,
    }
    return render(request, "actionplan/voice/you_said_we_did.html", context)


@login_required
@require_POST
def follow(request: HttpRequest, slug: str) -> HttpResponse:
    plan = _plan(request, slug)
    if request.POST.get("follow") == "no":
        services.follow_delete(actor=request.user, plan=plan)
        messages.success(request, f"You no longer follow “{plan.title}”.")
    else:
        services.follow_create(actor=request.user, plan=plan)
        messages.success(request, f"You follow “{plan.title}”: we will tell you when its status changes.")
    return redirect("voice_plan_thread", slug=plan.slug)


# Moderation --------------------------------------------------------------------------------


def _require_moderator(request: HttpRequest) -> None:
    permissions.require(permissions.can_moderate(request.user))


@login_required
@require_GET
def moderation_queue(request: HttpRequest) -> HttpResponse:
    _require_moderator(request)
    context = {
        "comments": selectors.moderation_queue(request.user),
        "decisions": selectors.recent_decisions(request.user),
        "suspensions": selectors.suspensions(),
        "form": ModerationForm(),
    }
    return render(request, "actionplan/voice/moderation.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def moderate_comment(request: HttpRequest, pk: int) -> HttpResponse:
    _require_moderator(request)
    comment = get_object_or_404(Comment.objects.select_related("plan", "author", "action"), pk=pk)
    if not permissions.can_moderate_comment(request.user, comment):
        raise Http404  # a comment of a plan they may not view: as if it did not exist
    form = ModerationForm(request.POST or None)
    suspend_form = SuspendForm()
    if request.method == "POST" and form.is_valid():
        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        service = {
            "hide": services.comment_hide,
            "restore": services.comment_restore,
            "dismiss": services.flags_dismiss,
        }[decision]
        try:
            service(actor=request.user, comment=comment, reason=reason)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("voice_moderation_queue")
    return render(
        request,
        "actionplan/voice/moderate_comment.html",
        {"comment": comment, "form": form, "suspend_form": suspend_form, "suspended": _suspended(comment.author)},
        status=400 if form.errors else 200,
    )


def _suspended(user: User) -> bool:
    return permissions.is_suspended(user)


@login_required
@require_POST
def suspend_user(request: HttpRequest, pk: int) -> HttpResponse:
    _require_moderator(request)
    subject = get_object_or_404(User, pk=pk)
    form = SuspendForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["suspend"] == "suspend":
                services.user_suspend(actor=request.user, user=subject, reason=form.cleaned_data["reason"])
                messages.success(request, f"{subject.display_name} can no longer comment.")
            else:
                services.user_unsuspend(actor=request.user, user=subject, reason=form.cleaned_data["reason"])
                messages.success(request, f"{subject.display_name} can comment again.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("voice_moderation_queue")


# Notifications -----------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(request.user), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "actionplan/voice/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = permissions.get_notification_for_user_or_404(request.user, pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    if request.POST.get("open") and notification.url.startswith("/"):
        return redirect(notification.url)
    return redirect("voice_notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect("voice_notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    initial = {"email_mode": services.email_mode_for(request.user)}
    initial.update({f"kind_{kind}": mode for kind, mode in services.own_kind_choices(request.user).items()})
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preference_set(actor=request.user, email_mode=form.cleaned_data["email_mode"], kinds=form.kinds())
        messages.success(request, "Your email choice is saved.")
        return redirect("voice_notifications")
    return render(request, "actionplan/voice/notification_settings.html", {"form": form})


@csrf_exempt  # the signed token is the credential; mail clients POST here for one-click unsubscribe (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    target = services.unsubscribe_target(token)
    if target is None:
        raise Http404
    user, kind = target
    context = {"email": user.email, "token": token, "kind_label": NotificationKind(kind).label if kind else ""}
    if request.method == "POST":
        services.unsubscribe(user=user, kind=kind)
        return render(request, "actionplan/voice/unsubscribed.html", context)
    return render(request, "actionplan/voice/unsubscribe.html", context)


# Used by templates to know what the viewer may do with each comment.
def comment_actions(user: Any, comment: Comment) -> dict[str, bool]:
    return {
        "edit": permissions.can_edit_comment(user, comment),
        "delete": permissions.can_delete_comment(user, comment),
        "flag": permissions.can_flag_comment(user, comment),
        "reply": comment.parent_id is None
        and comment.status == CommentStatus.VISIBLE
        and not comment.is_deleted
        and permissions.can_comment(user, comment.plan),
    }
