"""A commissioner writes a consultation with two questions and opens it (at 1280 px); a service user
answers it on a phone (320 px), meeting the error summary first; the results page shows what it
may (issue 23: two real accounts, a real browser, axe-core on every page)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from actionplan import services as plan_services
from actionplan.models import Consultation, Participation, PlanStatus, PlanVisibility
from actionplan.voice import services as voice_services
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _check_on_a_phone(page: Page) -> None:
    # The header's script folds its links into "More" once the page has loaded: check after it.
    page.wait_for_load_state()
    assert_accessible(page)
    assert_no_sideways_scrolling(page)


def _fill_date(page: Page, legend: str, day: dt.date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_a_manager_opens_a_consultation_and_a_service_user_answers_it_on_a_phone(
    page: Page, commissioner, commissioning_org, service_user, password
):
    plan = plan_services.plan_create(
        actor=commissioner,
        title="Crisis plan (consultation journey)",
        lead_organisation=commissioning_org,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status=PlanStatus.ACTIVE,
        visibility=PlanVisibility.PUBLIC,
    )
    voice_services.follow_create(actor=service_user, plan=plan)
    today = timezone.localdate()

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto(f"/plans/{plan.slug}/")
    page.get_by_role("link", name="Consultations").click()
    assert_accessible(page)
    page.get_by_role("link", name="Start a consultation").click()
    assert_accessible(page)
    page.get_by_label("Title").fill("Crisis support out of hours")
    page.get_by_label("Introduction").fill("Tell us what would **help**.")
    _fill_date(page, "Opens on", today)
    _fill_date(page, "Closes on", today - dt.timedelta(days=1))
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page)
    expect(page.get_by_label("Title")).to_have_value("Crisis support out of hours")
    _fill_date(page, "Closes on", today + dt.timedelta(days=14))
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crisis support out of hours")
    assert_accessible(page)

    page.get_by_role("link", name="Add a question").click()
    assert_accessible(page)
    page.get_by_label("Question", exact=True).fill("Where did you go for help?")
    page.get_by_label("One choice from a list").check()
    page.get_by_label("Options").fill("A&E\nNHS 111\nA crisis café")
    page.get_by_role("button", name="Save the question").click()
    page.get_by_role("link", name="Add a question").click()
    page.get_by_label("Question", exact=True).fill("Anything else?")
    page.get_by_label("Free text").check()
    page.get_by_label("No, people may skip it").check()
    page.get_by_role("button", name="Save the question").click()
    page.get_by_role("button", name="Move up question 2").click()
    expect(
        page.locator("#question-" + str(Consultation.objects.get().questions.get(text="Anything else?").pk))
    ).to_contain_text("1. Anything else?")

    page.get_by_role("link", name="Open the consultation").click()
    assert_accessible(page)
    page.get_by_role("button", name="Open it and invite followers").click()
    expect(page.get_by_text("The consultation is open")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    # The service user hears of it, and answers on a phone.
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, service_user, password)
    page.goto("/notifications/")
    page.get_by_role("link", name="asks for your views").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crisis support out of hours")
    _check_on_a_phone(page)
    page.get_by_role("link", name="Answer the questions").click()
    page.get_by_label("Anything else? (optional)").fill("Somewhere quiet to wait.")
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_label("Anything else? (optional)")).to_have_value("Somewhere quiet to wait.")
    _check_on_a_phone(page)
    page.get_by_role("link", name="Choose an option.").click()
    page.get_by_label("A crisis café").check()
    page.get_by_label("A carer, family member or friend").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Thank you: your answers are saved")).to_be_visible()
    expect(page.get_by_text("Fewer than 5 people have answered")).to_be_visible()
    _check_on_a_phone(page)
    participation = Participation.objects.get(user=service_user)
    assert participation.group == "carer"
    page.goto(f"/plans/{plan.slug}/voice-impact/")
    _check_on_a_phone(page)


def test_a_moderator_publishes_a_written_answer_and_a_commenter_rates_the_change(
    page: Page, commissioner, commissioning_org, service_user, password
):
    from actionplan.consultations import services as consultation_services
    from actionplan.models import ActionStatus, KeyStep
    from stakeholders.models import Role
    from tests.factories import MembershipFactory, OrganisationFactory

    plan = plan_services.plan_create(
        actor=commissioner,
        title="Crisis plan (closing the loop)",
        lead_organisation=commissioning_org,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status=PlanStatus.ACTIVE,
        visibility=PlanVisibility.PUBLIC,
    )
    today = timezone.localdate()
    consultation = consultation_services.consultation_create(
        actor=commissioner,
        plan=plan,
        title="Evenings",
        introduction="x",
        opens_on=today,
        closes_on=today + dt.timedelta(days=7),
    )
    question = consultation_services.question_add(
        actor=commissioner, consultation=consultation, kind="text", text="What would help?"
    )
    consultation_services.consultation_open(
        actor=commissioner, consultation=consultation, expected_version=consultation.version
    )
    consultation_services.answers_submit(
        actor=service_user, consultation=consultation, answers={question.pk: "A quiet room."}
    )
    action = plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=KeyStep.objects.order_by("number").first(),
        title="Open the café at weekends",
        owner_organisation=commissioning_org,
    )
    comment = voice_services.comment_create(actor=service_user, plan=plan, body="Weekends, please.")
    voice_services.response_save(
        actor=commissioner, comment=comment, disposition="accepted", text="Yes.", action_changed=action
    )
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    moderator = MembershipFactory(organisation=OrganisationFactory(), role=Role.MODERATOR).user

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, moderator, password)
    page.goto("/moderation/")
    page.get_by_role("link", name="Consultation answers waiting for a moderator").click()
    assert_accessible(page)
    page.get_by_role("link", name="Decide on answer 1").click()
    assert_accessible(page)
    page.get_by_label("Publish it").check()
    page.get_by_role("button", name="Save the decision").click()
    expect(page.get_by_text("Answer published.")).to_be_visible()
    sign_out(page)

    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, service_user, password)
    page.goto("/notifications/")
    page.get_by_role("link", name="Did it change your experience?").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Did it make a difference?")
    _check_on_a_phone(page)
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    _check_on_a_phone(page)
    page.get_by_label("4: A good difference").check()
    page.get_by_label("Anything you want to tell us (optional)").fill("Weekends are easier now.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What changed because people spoke up")
    _check_on_a_phone(page)
    page.goto(consultation.get_absolute_url())
    expect(page.get_by_text("A quiet room.")).to_be_visible()
