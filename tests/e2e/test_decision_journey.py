"""A commissioner proposes a decision to the partnership, another member's commissioner is told and
disagrees with a reason (on a phone), the proposer records the outcome "agreed" with an owner, a due
date and a linked action, and the dissent is still shown (issue 22: two real accounts, a real browser,
axe-core on every page)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from actionplan import services as plan_services
from actionplan.models import KeyStep, PlanStatus, PlanVisibility
from commissioning import services
from commissioning.decisions.models import Decision, Stance
from commissioning.models import PartnershipScope
from stakeholders.models import OrganisationType, Role
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def tom(db):
    council = OrganisationFactory(name="Camden Council (journey)", type=OrganisationType.LA_COMMISSIONER)
    return MembershipFactory(organisation=council, role=Role.COMMISSIONER, user__display_name="Tom Council").user


@pytest.fixture
def partnership(commissioner, commissioning_org, tom):
    plan = plan_services.plan_create(
        actor=commissioner,
        title="Crisis plan (journey)",
        lead_organisation=commissioning_org,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status=PlanStatus.ACTIVE,
        visibility=PlanVisibility.PUBLIC,
    )
    plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=KeyStep.objects.order_by("number").first(),
        title="Open a crisis cafe",
        owner_organisation=commissioning_org,
    )
    return services.partnership_create(
        actor=None,
        name="Journey partnership",
        scope=PartnershipScope.PAN_LONDON,
        lead=commissioning_org,
        members=[tom.memberships.get().organisation],
        plans=[plan],
    )


def _fill_date(page: Page, day: dt.date) -> None:
    page.get_by_label("Day").fill(str(day.day))
    page.get_by_label("Month").fill(str(day.month))
    page.get_by_label("Year").fill(str(day.year))


def test_a_proposal_is_disagreed_with_agreed_and_the_dissent_stays_on_the_record(
    page: Page, commissioner, commissioning_org, tom, partnership, password
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto(partnership.get_absolute_url())
    page.get_by_role("link", name="Propose a decision").first.click()
    assert_accessible(page)
    page.get_by_label("Title").fill("Open a crisis cafe in Camden")
    page.get_by_label("What is proposed, and why").fill("Fund a **crisis cafe** for evenings and weekends.")
    _fill_date(page, timezone.localdate() + dt.timedelta(days=14))
    page.get_by_role("button", name="Send the proposal").click()
    expect(page.get_by_text("Proposal sent to the members")).to_be_visible()
    expect(page.locator("#decision-stances")).to_contain_text("Not responded")
    assert_accessible(page)
    sign_out(page)

    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, tom, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("proposed to Journey partnership")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a crisis cafe in Camden")
    with contextlib.suppress(PlaywrightTimeoutError):  # the header folds its links once loaded
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.get_by_label("Disagree").check()
    page.get_by_role("button", name="Record our view").click()
    # A reason is required to disagree: the error says so and keeps the choice.
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.get_by_label("Disagree")).to_be_checked()
    assert_accessible(page)
    page.get_by_label("Reason").fill("Camden's evening demand is at the A&E, not in the community.")
    page.get_by_role("button", name="Record our view").click()
    expect(page.get_by_text("Camden Council (journey)'s view is recorded.")).to_be_visible()
    sign_out(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    decision = Decision.objects.get()
    sign_in(page, commissioner, password)
    page.goto(decision.get_absolute_url())
    page.get_by_role("link", name="Record the outcome").click()
    assert_accessible(page)
    page.get_by_label("Agreed", exact=True).check()
    page.get_by_label("Outcome statement").fill("Agreed, with Camden's disagreement recorded.")
    page.get_by_label("Owner").select_option(label=commissioning_org.name)
    _fill_date(page, timezone.localdate() + dt.timedelta(days=90))
    page.get_by_label("Crisis plan (journey): Open a crisis cafe").check()
    page.get_by_role("button", name="Record the outcome").click()
    expect(page.get_by_text("Outcome recorded: agreed.")).to_be_visible()
    stances = page.locator("#decision-stances")
    expect(stances).to_contain_text("Disagree")
    expect(stances).to_contain_text("Camden's evening demand is at the A&E")
    expect(page.locator("#decision-tallies")).to_contain_text("With dissent")
    expect(page.get_by_role("link", name="Open a crisis cafe")).to_be_visible()
    assert_accessible(page)
    page.goto(f"/commissioning/partnerships/{partnership.slug}/decisions/")
    expect(page.locator("#decisions-log")).to_contain_text("With dissent")
    assert_accessible(page)
    decision.refresh_from_db()
    assert decision.status == "agreed" and decision.owner == commissioning_org
    assert Stance.objects.get().stance == "disagree"
