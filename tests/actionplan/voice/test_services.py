"""The voice services: rules, notifications, the overdue job, digests and unsubscribing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from actionplan.models import (
    CommentStatus,
    Decision,
    EmailMode,
    ModerationDecision,
    Notification,
    NotificationKind,
    PlanStatus,
)
from actionplan.voice import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_reply_to_a_reply_is_refused(make_comment, carer, service_user, public_plan):
    top = make_comment()
    reply = services.comment_create(actor=carer, plan=public_plan, parent=top, body="Yes")
    with pytest.raises(ValidationError, match="two levels"):
        services.comment_create(actor=service_user, plan=public_plan, parent=reply, body="And?")


def test_a_reply_inherits_the_action_of_its_comment(make_comment, make_action, carer, public_plan):
    action = make_action(public_plan)
    top = make_comment(action=action)
    reply = services.comment_create(actor=carer, plan=public_plan, parent=top, body="Yes")
    assert reply.action == action


def test_nobody_comments_on_a_draft_or_closed_plan(make_plan, service_user):
    for status in (PlanStatus.DRAFT, PlanStatus.CLOSED):
        plan = make_plan(title=f"{status} plan", status=status)
        with pytest.raises(PermissionDenied):
            services.comment_create(actor=service_user, plan=plan, body="Hello")


def test_the_badge_is_shown_only_for_people_with_lived_experience(make_comment, commissioner, public_plan):
    assert make_comment(show_badge=True).show_badge
    assert not services.comment_create(actor=commissioner, plan=public_plan, body="Hi", show_badge=True).show_badge


def test_safety_words_match_phrases_and_any_case_but_not_inside_other_words(settings):
    assert services.mentions_safety_words("I want to END   my LIFE")
    # Talking about self-harm services is not saying one is at risk (tests/actionplan/voice/test_risk.py).
    assert not services.mentions_safety_words("self-harm support")
    assert not services.mentions_safety_words("Suicidology is a field")  # a different word
    settings.VOICE_SAFETY_WORDS = ["hopeless"]
    assert services.mentions_safety_words("I feel hopeless")
    assert not services.mentions_safety_words("suicide")


def test_editing_a_comment_into_a_safety_word_holds_it(make_comment, service_user, moderator):
    comment = make_comment()
    services.comment_edit(actor=service_user, comment=comment, body="I have thought of self harm")
    assert comment.status == CommentStatus.HELD
    assert Notification.objects.filter(recipient=moderator, kind=NotificationKind.HELD_COMMENT).count() == 1


def test_two_flags_leave_a_comment_up_and_the_third_holds_it(make_comment, moderator):
    comment = make_comment()
    people = UserFactory.create_batch(3)
    for person in people[:2]:
        services.flag_create(actor=person, comment=comment, reason="Rude")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.VISIBLE
    with pytest.raises(ValidationError, match="already flagged"):
        services.flag_create(actor=people[0], comment=comment, reason="Rude")
    services.flag_create(actor=people[2], comment=comment, reason="Rude")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HELD
    assert Notification.objects.filter(recipient=moderator, kind=NotificationKind.HELD_COMMENT).exists()
    services.flags_dismiss(actor=moderator, comment=comment, reason="Robust but fair")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.VISIBLE
    decision = ModerationDecision.objects.get()
    assert (decision.moderator, decision.decision, decision.reason) == (moderator, Decision.DISMISS, "Robust but fair")


def test_only_moderators_decide(make_comment, commissioner):
    with pytest.raises(PermissionDenied):
        services.comment_hide(actor=commissioner, comment=make_comment(), reason="No")


def test_a_suspended_person_cannot_comment_until_the_suspension_is_lifted(
    make_comment, moderator, service_user, public_plan
):
    services.user_suspend(actor=moderator, user=service_user, reason="Abuse")
    fresh = type(service_user).objects.get(pk=service_user.pk)
    with pytest.raises(PermissionDenied):
        services.comment_create(actor=fresh, plan=public_plan, body="Hi")
    services.user_unsuspend(actor=moderator, user=service_user, reason="Appeal upheld")
    fresh = type(service_user).objects.get(pk=service_user.pk)
    services.comment_create(actor=fresh, plan=public_plan, body="Hi")
    assert list(ModerationDecision.objects.values_list("decision", flat=True)) == [Decision.UNSUSPEND, Decision.SUSPEND]


def test_only_plan_managers_respond_and_a_second_response_revises_the_first(
    make_comment, commissioner, service_user, make_action, public_plan
):
    comment = make_comment()
    with pytest.raises(PermissionDenied):
        services.response_save(actor=service_user, comment=comment, disposition="under_review", text="?")
    services.response_save(actor=commissioner, comment=comment, disposition="under_review", text="Looking")
    action = make_action(public_plan)
    response = services.response_save(
        actor=commissioner, comment=comment, disposition="accepted", text="Done", action_changed=action
    )
    assert response.disposition == "accepted" and response.action_changed == action
    # One notification for the first answer; a revision does not repeat it.
    assert Notification.objects.filter(recipient=service_user, kind=NotificationKind.RESPONSE).count() == 1


def test_followers_hear_of_a_status_change_but_not_the_person_who_made_it(public_plan, service_user, commissioner):
    services.follow_create(actor=service_user, plan=public_plan)
    services.follow_create(actor=commissioner, plan=public_plan)
    told = services.notify_plan_status_changed(
        plan=public_plan, old=PlanStatus.ACTIVE, new=PlanStatus.CLOSED, actor=commissioner
    )
    assert told == 1
    notification = Notification.objects.get(kind=NotificationKind.PLAN_STATUS)
    assert notification.recipient == service_user and "is now closed (it was active)" in notification.text


def test_a_notification_of_an_unknown_kind_is_refused(service_user):
    # The kind field carries no choices (a new kind needs no migration), so notify guards it.
    with pytest.raises(ValueError, match="not a NotificationKind"):
        services.notify(recipient=service_user, kind="gossip", text="Psst", url="/")
    assert not Notification.objects.exists()
    assert services.notify(recipient=service_user, kind=NotificationKind.REPLY, text="A reply", url="/") is not None


def test_the_overdue_job_notifies_the_lead_once_per_overdue_episode(public_plan, make_action, commissioner):
    action = make_action(public_plan, lead=commissioner, due_date=dt.date(2026, 5, 1))
    make_action(public_plan, title="Done already", lead=commissioner, due_date=dt.date(2026, 5, 1), status="done")
    make_action(public_plan, title="Not due", lead=commissioner, due_date=dt.date(2026, 7, 1))
    today = dt.date(2026, 6, 1)
    assert services.actions_overdue_notify(today=today) == 1
    assert services.actions_overdue_notify(today=today) == 0  # a re-run adds nothing
    assert services.actions_overdue_notify(today=today + dt.timedelta(days=1)) == 0  # nor does the next day
    # A new due date that is missed too is a new episode.
    from actionplan import services as plan_services

    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"due_date": dt.date(2026, 6, 10)}
    )
    assert services.actions_overdue_notify(today=dt.date(2026, 6, 20)) == 1
    assert Notification.objects.filter(kind=NotificationKind.ACTION_OVERDUE, recipient=commissioner).count() == 2


def test_the_digest_lists_every_new_notification_once_with_an_unsubscribe_link(
    make_comment, carer, service_user, commissioner, public_plan, mailoutbox
):
    services.preference_set(actor=service_user, email_mode=EmailMode.DIGEST)
    top = make_comment()
    services.comment_create(actor=carer, plan=public_plan, parent=top, body="Agreed")
    services.response_save(actor=commissioner, comment=top, disposition="under_review", text="Thinking")
    assert services.digest_recipients() == [service_user.pk]
    assert services.digest_send(user_id=service_user.pk) == 2
    assert services.digest_send(user_id=service_user.pk) == 0  # nothing new, no second email
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [service_user.email] and "2 updates" in message.subject
    assert "Cam Carer replied to your comment" in message.body
    assert "official response: under review" in message.body
    unsubscribe_url = services.unsubscribe_url(service_user)
    assert unsubscribe_url in message.body
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_immediate_readers_are_not_in_the_digest_and_off_readers_get_no_email(
    make_comment, carer, service_user, public_plan, mailoutbox
):
    top = make_comment()
    services.comment_create(actor=carer, plan=public_plan, parent=top, body="Agreed")
    notification = Notification.objects.get(recipient=service_user)
    assert services.digest_recipients() == []
    services.unsubscribe(user=service_user)
    assert services.notification_email_send(notification_id=notification.pk) is False
    assert mailoutbox == []


def test_an_unsubscribe_token_is_signed(service_user):
    token = services.unsubscribe_token(service_user)
    assert services.user_from_unsubscribe_token(token) == service_user
    assert services.user_from_unsubscribe_token(token[:-2] + "xx") is None


def test_a_status_change_by_the_plans_service_reaches_followers_through_the_trigger(
    public_plan, service_user, commissioner
):
    from actionplan import services as plan_services
    from actionplan.models import PlanStatusChange

    services.follow_create(actor=service_user, plan=public_plan)
    services.follow_create(actor=commissioner, plan=public_plan)
    plan_services.plan_change_status(
        actor=commissioner, plan=public_plan, expected_version=public_plan.version, status=PlanStatus.CLOSED
    )
    change = PlanStatusChange.objects.get()
    assert (change.old_status, change.new_status, change.actor_id) == ("active", "closed", commissioner.pk)
    assert services.plan_status_changes_process() == 1
    assert services.plan_status_changes_process() == 0  # each change is told once
    # The commissioner made the change, so only the service user is told.
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(service_user.pk, "plan_status")]


def test_the_demo_comments_and_answers_a_plan_once(public_plan, make_action, service_user, carer):
    from actionplan.models import Comment, Response
    from actionplan.voice import demo

    make_action(public_plan)
    assert demo.seed() == 4
    assert demo.seed() == 0
    assert Comment.objects.filter(plan=public_plan).count() == 4
    assert set(Response.objects.values_list("disposition", flat=True)) == {
        "accepted",
        "under_review",
        "already_covered",
    }


def test_a_moderator_cannot_act_on_a_comment_of_a_plan_they_may_not_view(
    partners_plan, public_plan, commissioner, moderator
):
    from django.core.exceptions import PermissionDenied

    from actionplan.voice import selectors

    hidden = services.comment_create(actor=commissioner, plan=partners_plan, body="I want to end my life")
    for act in (services.comment_hide, services.comment_restore, services.flags_dismiss):
        with pytest.raises(PermissionDenied):
            act(actor=moderator, comment=hidden, reason="Checked")
    assert hidden.status == "held"  # the safety words held it, for moderators who may view the plan
    assert hidden not in selectors.moderation_queue(moderator)
    assert not moderator.notifications.exists()
    public = services.comment_create(actor=commissioner, plan=public_plan, body="I want to end my life")
    assert public in selectors.moderation_queue(moderator)
    assert moderator.notifications.count() == 1
    services.comment_hide(actor=moderator, comment=public, reason="Checked")
