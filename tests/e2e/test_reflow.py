"""Pages fit a 320 CSS pixel wide screen without scrolling sideways (WCAG 2.2, 1.4.10 Reflow).

axe-core cannot judge reflow, so the test measures it: at 320 pixels the page must be no
wider than the window. Wide tables scroll inside their own container instead (every page the
accessibility crawl reaches is measured at 320 and 375 pixels there). Long forms stay short:
a long list of checkboxes gets a filter box, and still works without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from actionplan import services as plan_services
from actionplan.models import Action, KeyStep
from stakeholders import services
from tests.e2e.conftest import assert_accessible
from tests.factories import OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def assert_no_sideways_scrolling(page: Page) -> None:
    page_width, window_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page_width <= window_width, f"{page.url} is {page_width}px wide in a {window_width}px window"


def test_pages_with_tables_fit_a_narrow_phone_screen(page: Page, org_admin, commissioner, commissioning_org, password):
    # The widest tables: the members page and a profile with an API token.
    services.api_token_create(actor=org_admin, name="monthly upload script", days=30)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(org_admin.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # An organisation admin without data roles lands on the plans list (issue 19).
    expect(page.get_by_role("heading", level=1)).to_have_text("Action plans")
    page.wait_for_load_state()  # the header's script folds the links into "More" once the page has loaded
    assert_no_sideways_scrolling(page)

    for path in [
        "/",
        "/account/profile/",
        "/organisations/",
        f"/organisations/{commissioning_org.slug}/",
        f"/organisations/{commissioning_org.slug}/members/",
        "/areas/",
        "/areas/E09000007/",
    ]:
        page.goto(path)
        assert_no_sideways_scrolling(page)
        assert_accessible(page)  # a scrolling table must still be reachable by keyboard


@pytest.fixture
def plan_with_many_partners(commissioner, commissioning_org):
    """A plan with one action, and 30 organisations that could partner on it (issue 19: the
    action form listed 41 partners and 50 dependencies, 11,500 px tall on a phone)."""
    for n in range(30):
        OrganisationFactory(name=f"Borough partner {n:02d} (test)")
    OrganisationFactory(name="Camden Carers Centre (test)")
    plan = plan_services.plan_create(
        actor=commissioner,
        title="Partners plan",
        lead_organisation=commissioning_org,
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2029, 3, 31),
        status="active",
    )
    action = plan_services.action_create(
        actor=commissioner,
        plan=plan,
        key_step=KeyStep.objects.get(number=2),
        title="Open a crisis café",
        owner_organisation=commissioning_org,
    )
    return plan, action


def _sign_in(page: Page, user, password: str) -> None:
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header").get_by_role("link", name="Sign out")).to_be_visible()


def test_a_long_list_of_partners_narrows_as_you_type_and_is_chosen_by_keyboard(
    page: Page, plan_with_many_partners, commissioner, password
):
    plan, action = plan_with_many_partners
    _sign_in(page, commissioner, password)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"/plans/{plan.slug}/actions/{action.pk}/edit/")
    partners = page.get_by_role("group", name="Partner organisations")
    expect(partners.get_by_text("None chosen")).to_be_visible()
    box = partners.get_by_label("Filter partner organisations")
    box.fill("camden carers")
    expect(partners.get_by_text("Showing 1 of")).to_be_visible()
    expect(partners.get_by_role("checkbox", name="Borough partner 03 (test)")).to_be_hidden()
    box.press("Enter")  # filters; does not submit the form
    expect(page).to_have_url(re.compile(r"/edit/$"))
    box.press("Tab")
    expect(partners.get_by_role("checkbox", name="Camden Carers Centre (test)")).to_be_focused()
    page.keyboard.press("Space")
    expect(partners.get_by_text("1 chosen: Camden Carers Centre (test)")).to_be_visible()
    box.fill("")
    expect(partners.get_by_role("checkbox", name="Borough partner 03 (test)")).to_be_visible()
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.get_by_role("button", name="Save action").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a crisis café")
    assert [o.name for o in Action.objects.get(pk=action.pk).partners.all()] == ["Camden Carers Centre (test)"]

    # Chosen partners come first, so the next visit shows them at once.
    page.goto(f"/plans/{plan.slug}/actions/{action.pk}/edit/")
    first = page.get_by_role("group", name="Partner organisations").get_by_role("checkbox").first
    expect(first).to_have_accessible_name("Camden Carers Centre (test)")
    expect(first).to_be_checked()


def test_the_action_form_works_without_javascript(
    context: BrowserContext, live_server, plan_with_many_partners, commissioner, password
):
    plan, action = plan_with_many_partners
    # A context of its own with scripts off (the `context` fixture has readied Playwright's loop).
    no_js = context.browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-GB")
    try:
        page = no_js.new_page()
        _sign_in(page, commissioner, password)
        page.goto(f"/plans/{plan.slug}/actions/{action.pk}/edit/")
        partners = page.get_by_role("group", name="Partner organisations")
        expect(partners.get_by_label("Filter partner organisations")).to_have_count(0)  # no script, no filter box
        partners.get_by_role("checkbox", name="Borough partner 07 (test)").check()
        page.get_by_role("button", name="Save action").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Open a crisis café")
    finally:
        no_js.close()
    assert [o.name for o in Action.objects.get(pk=action.pk).partners.all()] == ["Borough partner 07 (test)"]
