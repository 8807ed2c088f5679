"""Notifications reach whoever must act (issue 22): a new comment goes to the people who answer for
the plan; a comment left without an official response goes to them after VOICE_UNANSWERED_DAYS
and to the lead organisation's admins after twice that, once each however often the job runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from actionplan.models import Comment, Notification, NotificationKind
from actionplan.voice import services
from stakeholders.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True))


def test_a_new_comment_goes_to_the_plans_answerers_but_not_its_author_nor_anyone_else(
    make_comment, public_plan, commissioner, service_user, carer
):
    responder = UserFactory(display_name="Rae Responder")
    from guardian.shortcuts import assign_perm

    assign_perm("respond_plan", responder, public_plan)
    comment = make_comment()
    assert _kinds(commissioner) == [NotificationKind.NEW_COMMENT]  # the plan's creator manages it
    assert _kinds(responder) == [NotificationKind.NEW_COMMENT]
    assert _kinds(service_user) == [] and _kinds(carer) == []
    told = Notification.objects.get(recipient=responder)
    assert told.comment == comment and "Sky commented on" in told.text
    # A reply to the commissioner's own comment tells them once, as a reply.
    own = services.comment_create(actor=commissioner, plan=public_plan, body="We are listening.")
    services.comment_create(actor=service_user, plan=public_plan, body="Thank you", parent=own)
    assert _kinds(commissioner) == [NotificationKind.NEW_COMMENT, NotificationKind.REPLY]


def test_a_held_comment_goes_to_the_moderators_only(make_comment, commissioner, moderator):
    make_comment(body="I want to end my life tonight.")
    assert _kinds(commissioner) == []
    assert _kinds(moderator) == [NotificationKind.HELD_COMMENT]


def test_an_unanswered_comment_goes_to_the_answerers_then_to_the_lead_organisations_admins_once_each(
    make_comment, public_plan, commissioner, commissioning_org, settings
):
    settings.VOICE_UNANSWERED_DAYS = 14
    admin = MembershipFactory(organisation=commissioning_org, role=Role.ORG_ADMIN).user
    waiting = make_comment()
    answered = make_comment(body="And more peer support.")
    services.response_save(actor=commissioner, comment=answered, disposition="under_review", text="Looking")
    Notification.objects.all().delete()
    start = timezone.now()
    Comment.objects.filter(pk__in=[waiting.pk, answered.pk]).update(created_at=start)

    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=13)) == 0
    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=15)) == 1
    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=16)) == 0  # told once
    assert _kinds(commissioner) == [NotificationKind.UNANSWERED] and _kinds(admin) == []
    assert "more than 14 days" in Notification.objects.get(recipient=commissioner).text
    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=29)) == 1
    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=30)) == 0
    assert _kinds(admin) == [NotificationKind.UNANSWERED]
    assert "more than 28 days" in Notification.objects.get(recipient=admin).text
    # Once answered, nothing more.
    services.response_save(actor=commissioner, comment=waiting, disposition="under_review", text="Sorry")
    Notification.objects.all().delete()
    assert services.comments_unanswered_notify(now=start + dt.timedelta(days=60)) == 0


def test_a_plans_followers_hear_when_an_action_moves_once_per_save_but_not_the_person_who_moved_it(
    public_plan, make_action, commissioner, service_user, carer
):
    from actionplan import services as plan_services

    services.follow_create(actor=service_user, plan=public_plan)
    services.follow_create(actor=commissioner, plan=public_plan)
    action = make_action(public_plan, title="Crisis café at weekends", due_date=dt.date(2027, 3, 31))
    action = plan_services.action_update(
        actor=commissioner,
        action=action,
        expected_version=action.version,
        values={"status": "at_risk", "progress": 40, "due_date": dt.date(2027, 6, 30)},
    )
    told = Notification.objects.filter(kind=NotificationKind.ACTION_CHANGED)
    assert [n.recipient for n in told] == [service_user]  # once, and not to the commissioner who saved it
    assert told[0].text == (
        "“Crisis café at weekends” on “Camden and Islington crisis plan”: now at risk (was not started), "
        "40% done (was 0%), due 30 June 2027."
    )
    assert told[0].url == reverse("voice_action_thread", args=[public_plan.slug, action.pk])
    # A change to anything else tells nobody.
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"title": "Weekend crisis café"}
    )
    assert told.count() == 1 and not Notification.objects.filter(recipient=carer).exists()
