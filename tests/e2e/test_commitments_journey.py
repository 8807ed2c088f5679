"""A commissioner records and signs her organisation's commitments (1280 px), a provider's
organisation admin sees the matrix on a phone (320 px) with the commissioner's signature, the
step nobody covers and their own partner not signed, and the plan manager's activation is
refused until a reason is recorded (issue 23: real accounts, a real browser, axe-core on each page)."""

from __future__ import annotations

import contextlib
import os

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from actionplan import services as plan_services
from actionplan.models import KeyStep, PartnerSignOff, Plan, PlanStatus, PlanVisibility
from stakeholders.models import Role
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def provider_admin(provider_org):
    return MembershipFactory(organisation=provider_org, role=Role.ORG_ADMIN, user__display_name="Pia Provider").user


@pytest.fixture
def plan(commissioner, commissioning_org, provider_org):
    import datetime as dt

    plan = plan_services.plan_create(
        actor=commissioner,
        title="Crisis plan (commitments journey)",
        lead_organisation=commissioning_org,
        partners=[provider_org],
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status=PlanStatus.CONSULTATION,
        visibility=PlanVisibility.PUBLIC,
    )
    plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=KeyStep.objects.get(number=1),
        title="Pool the crisis budgets",
        owner_organisation=commissioning_org,
    )
    return plan


def _settle(page: Page) -> None:
    with contextlib.suppress(PlaywrightTimeoutError):  # the header folds its links once loaded
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )


def test_a_commissioner_records_and_signs_and_a_partner_reads_the_matrix_on_a_phone(
    page: Page, commissioner, commissioning_org, provider_org, provider_admin, plan, password
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto(f"/plans/{plan.slug}/")
    page.get_by_role("link", name="Commitments", exact=True).click()
    expect(page.get_by_role("heading", name="Commitments: who does what, signed")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"Add {commissioning_org.name}'s commitment under step 1").click()
    assert_accessible(page)
    # Nothing said and nothing linked: the error says so.
    page.get_by_role("button", name="Save the commitment").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("What your organisation commits to").fill("Pool the five boroughs' crisis budgets.")
    page.get_by_label("Pool the crisis budgets (step 1)").check()
    page.get_by_role("button", name="Save the commitment").click()
    expect(page.get_by_text("commitment under step 1 is saved")).to_be_visible()
    expect(page.locator("#commitment-matrix")).to_contain_text("Pool the five boroughs' crisis budgets.")
    page.get_by_role("link", name=f"Sign for {commissioning_org.name}").click()
    expect(page.locator("#signing")).to_contain_text("Pool the crisis budgets")
    assert_accessible(page)
    page.get_by_label("I am accountable for these commitments").check()
    page.get_by_role("button", name="Sign the commitments").click()
    expect(page.get_by_text(f"You signed {commissioning_org.name}'s commitments.")).to_be_visible()
    expect(page.locator("#sign-offs")).to_contain_text("Signed by Casey Commissioner")
    # Activation is refused while the provider has neither signed nor a reason.
    page.goto(f"/plans/{plan.slug}/status/")
    page.get_by_label("Active").check()
    page.get_by_role("button", name="Change status").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Still to sign: Provider Trust (test)")
    expect(page.locator("#id_status-error")).to_contain_text("Still to sign: Provider Trust (test)")
    assert_accessible(page)
    sign_out(page)

    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, provider_admin, password)
    page.goto(f"/plans/{plan.slug}/commitments/")
    _settle(page)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    expect(page.locator("#sign-offs")).to_contain_text("Not signed")
    expect(page.locator("#uncovered-steps")).to_contain_text("Step 2")
    expect(page.locator("#activation-gate")).to_contain_text("Provider Trust (test) must sign")
    expect(page.locator("#commitment-matrix")).to_contain_text("Pool the five boroughs' crisis budgets.")
    if os.environ.get("LMH_SCREENSHOTS"):  # to look at the page: a folder to write it to
        page.screenshot(path=os.path.join(os.environ["LMH_SCREENSHOTS"], "commitments-320.png"), full_page=True)
    page.goto(f"/organisations/{commissioning_org.slug}/commitments/")
    _settle(page)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    expect(page.get_by_text("Pool the five boroughs' crisis budgets.")).to_be_visible()

    assert PartnerSignOff.objects.get().signed_by == commissioner
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.CONSULTATION
