"""A service user comments, a commissioner responds, the service user sees the answer and the notification.

Real Chromium against the live server, axe-core on every page of the journey.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from actionplan import services as plan_services
from actionplan.models import KeyStep, PlanStatus
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def plan(commissioner, commissioning_org):
    plan = plan_services.plan_create(
        actor=commissioner,
        title="North London crisis care plan",
        lead_organisation=commissioning_org,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status=PlanStatus.CONSULTATION,
    )
    plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=KeyStep.objects.get(number=5),
        title="Open a crisis café at weekends",
        owner_organisation=commissioning_org,
    )
    return plan


def sign_in(page: Page, user, password: str) -> None:
    page.goto("/")
    page.locator("header").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Each role lands somewhere of its own (issue 19); signed in is what matters here.
    expect(page.locator("header").get_by_role("link", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    page.locator("header").get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()


def test_a_service_user_comments_a_commissioner_responds_and_the_service_user_is_told(
    page: Page, plan, service_user, commissioner, password
):
    # The service user comments, with their lived-experience badge.
    sign_in(page, service_user, password)
    page.goto(f"/plans/{plan.slug}/comments/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Comments on {plan.title}")
    assert_accessible(page)
    page.get_by_role("button", name="Publish comment").click()  # empty first: the error summary
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your comment").fill("Please open the crisis café at **weekends**, when we need it most.")
    page.get_by_role("button", name="Publish comment").click()
    expect(page.get_by_text("Your comment is published.")).to_be_visible()
    comment = page.locator("article.lmh-comment").first
    expect(comment.locator("strong", has_text="weekends")).to_be_visible()
    expect(comment.get_by_text("Lived experience")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    # The commissioner who manages the plan answers: accepted, and names the action it changed.
    sign_in(page, commissioner, password)
    page.goto(f"/plans/{plan.slug}/comments/")
    page.get_by_role("link", name=re.compile("Respond officially")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Respond to Sky")
    assert_accessible(page)
    page.get_by_label("Accepted", exact=True).check()
    page.get_by_label("Your response").fill("Agreed: from June the café opens on Saturdays and Sundays.")
    page.get_by_label("Action it changed").select_option(label="Open a crisis café at weekends")
    page.get_by_role("button", name="Publish response").click()
    expect(page.get_by_text("Your response is published.")).to_be_visible()
    sign_out(page)

    # The service user sees the unread notification in the header, the list, and the response.
    sign_in(page, service_user, password)
    header_link = page.locator("header").get_by_role("link", name="Notifications (1 unread)")
    expect(header_link).to_be_visible()
    header_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("^Mark as read")).click()
    expect(page.locator("header").get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile("has an official response: accepted")).click()
    response = page.locator(".lmh-response")
    expect(response).to_contain_text("from June the café opens on Saturdays and Sundays")
    expect(response).to_contain_text("Accepted")
    assert_accessible(page)

    page.get_by_role("link", name=re.compile("You said, we did")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You said, we did")
    expect(page.get_by_role("table")).to_contain_text("Open a crisis café at weekends")
    assert_accessible(page)


def test_a_comment_about_self_harm_is_held_with_urgent_help_and_a_moderator_restores_it(
    page: Page, plan, service_user, password
):
    from stakeholders.models import Role
    from tests.factories import MembershipFactory, OrganisationFactory

    moderator = MembershipFactory(
        organisation=OrganisationFactory(name="Moderators (test)"), role=Role.MODERATOR, user__display_name="Mo"
    ).user

    sign_in(page, service_user, password)
    page.goto(f"/plans/{plan.slug}/comments/")
    page.get_by_label("Your comment").fill("Waiting so long made me think about self-harm.")
    page.get_by_role("button", name="Publish comment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your comment is waiting for a moderator")
    expect(page.get_by_text("NHS 111 and choose option 2")).to_be_visible()
    expect(page.get_by_text("Samaritans on 116 123")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    sign_in(page, moderator, password)
    expect(page.locator("header").get_by_role("link", name="Notifications (1 unread)")).to_be_visible()
    page.goto("/moderation/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("^Decide")).click()
    assert_accessible(page)
    page.get_by_label("Publish (restore) the comment").check()
    page.get_by_label("Why", exact=True).first.fill("Shared to help others; author has the help contacts.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Restored the comment")
    sign_out(page)

    page.goto(f"/plans/{plan.slug}/comments/")
    expect(page.locator("article.lmh-comment")).to_contain_text("think about self-harm")
