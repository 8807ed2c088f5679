"""Consultation services: writing drafts, opening and inviting, answering once, moderation, closing the loop."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from actionplan import services as plan_services
from actionplan.consultations import selectors, services
from actionplan.models import (
    ActionStatus,
    AnswerHold,
    ChangeCheck,
    CommentStatus,
    EmailMode,
    Notification,
    NotificationKind,
    Participation,
    QuestionKind,
)
from actionplan.voice import services as voice_services
from kernel.concurrency import StaleEdit
from stakeholders.models import LivedExperience, Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_draft_is_edited_and_its_history_kept(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    services.consultation_update(actor=commissioner, consultation=c, expected_version=c.version, title="Evenings")
    c.refresh_from_db()
    assert c.title == "Evenings" and c.version == 2
    events = c.pgh_event_model.objects.filter(pgh_obj_id=c.pk).order_by("pgh_id")
    assert [e.title for e in events] == ["Crisis support out of hours", "Evenings"]
    assert events.last().pgh_context.metadata["user"] == commissioner.pk


def test_a_stale_edit_is_refused_and_nothing_is_written(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    services.consultation_update(actor=commissioner, consultation=c, expected_version=1, title="First")
    with pytest.raises(StaleEdit):
        services.consultation_update(actor=commissioner, consultation=c, expected_version=1, title="Second")
    c.refresh_from_db()
    assert c.title == "First"


def test_closing_before_opening_is_refused(public_plan, commissioner):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.consultation_create(
            actor=commissioner,
            plan=public_plan,
            title="T",
            introduction="I",
            opens_on=today,
            closes_on=today - dt.timedelta(days=1),
        )
    assert "closes_on" in exc.value.message_dict


def test_a_choice_question_needs_two_options(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    with pytest.raises(ValidationError) as exc:
        services.question_add(actor=commissioner, consultation=c, kind=QuestionKind.SINGLE, text="Q", options=["One"])
    assert "options" in exc.value.message_dict


def test_questions_move_up_and_down(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    first, second = c.qs[0], c.qs[1]
    services.question_move(actor=commissioner, question=second, up=True)
    assert [q.pk for q in selectors.questions(c)][:2] == [second.pk, first.pk]


def test_opening_invites_the_followers_who_may_see_the_plan_once_each(public_plan, make_consultation, commissioner):
    follower, quiet = UserFactory(), UserFactory()
    for person in (follower, quiet, commissioner):
        voice_services.follow_create(actor=person, plan=public_plan)
    voice_services.preference_set(actor=quiet, kinds={NotificationKind.CONSULTATION: EmailMode.OFF})
    c = make_consultation(public_plan)
    told = Notification.objects.filter(kind=NotificationKind.CONSULTATION)
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted([follower.pk, quiet.pk])
    # Someone who turned these emails off still sees it in the portal, without an email.
    assert voice_services.email_mode_for(quiet, NotificationKind.CONSULTATION) == EmailMode.OFF
    assert c.state() == "open"


def test_an_open_consultation_cannot_be_edited(public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan)
    with pytest.raises(ValidationError):
        services.question_add(actor=commissioner, consultation=c, kind=QuestionKind.TEXT, text="Late question")
    with pytest.raises(ValidationError):
        services.consultation_update(actor=commissioner, consultation=c, expected_version=c.version, title="New")


def test_opening_needs_a_question(public_plan, commissioner):
    today = timezone.localdate()
    c = services.consultation_create(
        actor=commissioner, plan=public_plan, title="T", introduction="I", opens_on=today, closes_on=today
    )
    with pytest.raises(ValidationError, match="at least one question"):
        services.consultation_open(actor=commissioner, consultation=c, expected_version=c.version)


def test_a_person_answers_once_and_may_change_their_answers_until_it_closes(public_plan, make_consultation, answer):
    c = make_consultation(public_plan)
    person = UserFactory()
    answer(c, where=0, ease=2, user=person, group="carer")
    answer(c, where=2, ease=5, user=person, group="carer")
    assert Participation.objects.filter(consultation=c).count() == 1
    single = c.qs[0].answers.get()
    assert single.choices == [2]
    with time_machine.travel(c.closes_on + dt.timedelta(days=1)), pytest.raises(ValidationError, match="not open"):
        answer(c, where=1, user=person)


def test_missing_and_wrong_answers_are_all_reported_by_question(public_plan, make_consultation):
    c = make_consultation(public_plan)
    single, multiple, scale, _ = c.qs
    with pytest.raises(ValidationError) as exc:
        services.answers_submit(
            actor=UserFactory(), consultation=c, answers={multiple.pk: ["7"], scale.pk: "9"}, group=""
        )
    errors = exc.value.message_dict
    assert errors[f"q{single.pk}"] == ["Choose an option."]
    assert errors[f"q{multiple.pk}"] == ["Choose from the options given."]
    assert errors[f"q{scale.pk}"] == ["Choose a number from 1 to 5."]
    assert not Participation.objects.exists()


def test_someone_who_may_not_see_the_plan_cannot_answer(partners_plan, make_consultation, answer):
    c = make_consultation(partners_plan)
    with pytest.raises(PermissionDenied):
        answer(c)


def test_free_text_waits_for_a_moderator_and_only_published_text_is_shown(public_plan, make_consultation, answer):
    c = make_consultation(public_plan)
    for i in range(3):
        answer(c, text=f"Answer {i}")
    moderator = MembershipFactory(organisation=OrganisationFactory(), role=Role.MODERATOR).user
    waiting = list(selectors.answers_waiting(moderator))
    assert [a.hold_reason for a in waiting] == [AnswerHold.REVIEW] * 3
    services.answer_moderate(actor=moderator, answer=waiting[0], publish=True)
    with pytest.raises(ValidationError):
        services.answer_moderate(actor=moderator, answer=waiting[1], publish=False, reason="")
    services.answer_moderate(actor=moderator, answer=waiting[1], publish=False, reason="Names a member of staff.")
    texts = selectors.results(c).questions[3].texts
    assert texts == ["Answer 0"]


def test_text_that_says_its_author_is_at_risk_is_held_and_the_moderators_told(public_plan, make_consultation, answer):
    moderator = MembershipFactory(organisation=OrganisationFactory(), role=Role.MODERATOR).user
    c = make_consultation(public_plan)
    answer(c, text="I want to end my life.")
    held = c.qs[3].answers.get()
    assert (held.status, held.hold_reason) == (CommentStatus.HELD, AnswerHold.SAFETY)
    assert Notification.objects.filter(recipient=moderator, kind=NotificationKind.HELD_ANSWER).count() == 1


def test_only_moderators_may_moderate(public_plan, make_consultation, answer):
    c = make_consultation(public_plan)
    answer(c, text="Fine")
    with pytest.raises(PermissionDenied):
        services.answer_moderate(actor=UserFactory(), answer=c.qs[3].answers.get(), publish=True)


# Closing the loop ------------------------------------------------------------------------------


@pytest.fixture
def accepted(public_plan, make_action, commissioner):
    """Two service users' comments accepted as changing one action; a third comment answered otherwise."""
    action = make_action(public_plan, title="Open the café at weekends")
    people = [UserFactory(lived_experience=LivedExperience.SERVICE_USER) for _ in range(3)]
    for i, person in enumerate(people):
        comment = voice_services.comment_create(actor=person, plan=public_plan, body=f"Please do {i}")
        voice_services.response_save(
            actor=commissioner,
            comment=comment,
            disposition="accepted" if i < 2 else "under_review",
            text="Thanks",
            action_changed=action if i < 2 else None,
        )
    return action, people


def test_an_action_becoming_done_asks_the_people_whose_comments_changed_it(accepted, commissioner):
    action, people = accepted
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    asked = ChangeCheck.objects.filter(action=action)
    assert sorted(asked.values_list("user_id", flat=True)) == sorted(p.pk for p in people[:2])
    assert Notification.objects.filter(kind=NotificationKind.CHANGE_CHECK).count() == 2
    # Reopened and done again: nobody is asked twice.
    action.refresh_from_db()
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.ON_TRACK}
    )
    action.refresh_from_db()
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    assert ChangeCheck.objects.filter(action=action).count() == 2


def test_a_rolled_back_status_change_asks_nobody(accepted, commissioner):
    action, _ = accepted
    with pytest.raises(StaleEdit):
        plan_services.action_update(
            actor=commissioner, action=action, expected_version=action.version + 5, values={"status": "done"}
        )
    assert not ChangeCheck.objects.exists()


def test_a_change_check_is_answered_once_by_the_person_asked(accepted, commissioner):
    action, people = accepted
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    check = ChangeCheck.objects.get(user=people[0])
    with pytest.raises(PermissionDenied):
        services.change_check_answer(actor=people[1], check=check, rating=4)
    with pytest.raises(ValidationError):
        services.change_check_answer(actor=people[0], check=check, rating=9)
    services.change_check_answer(actor=people[0], check=check, rating=4, comment="Easier at weekends.")
    with pytest.raises(ValidationError, match="already answered"):
        services.change_check_answer(actor=people[0], check=check, rating=5)
    check.refresh_from_db()
    assert (check.rating, check.comment) == (4, "Easier at weekends.")


def test_voice_impact_counts_asks_and_controls_small_numbers(accepted, commissioner, public_plan):
    action, people = accepted
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    services.change_check_answer(actor=people[0], check=ChangeCheck.objects.get(user=people[0]), rating=5)
    impact = selectors.impact(public_plan, with_comments=True)
    assert (impact.asks, impact.responded, impact.accepted, impact.actions_changed) == (3, 3, 2, 1)
    assert [a.pk for a in impact.actions_done] == [action.pk]
    # One rating: nothing of it is shown, and no mean.
    assert impact.ratings.withheld and impact.ratings.total is None and impact.mean is None
