"""A commissioner's plan journey in a real browser, with axe on every page.

Creates a plan, adds an action, changes its status in place (htmx swaps the row, no page
load), runs into a colleague's save in place and into their own save from another window on the
full edit form, and re-applies their own version from the conflict page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from actionplan import services
from actionplan.models import Action, Plan
from tests.e2e.conftest import assert_accessible, settled_header
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _sign_in(page: Page, user, password: str) -> None:
    page.goto("/")
    page.locator("header").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Each role lands somewhere of its own (issue 19); signed in is what matters here.
    expect(page.locator("header").get_by_role("link", name="Sign out")).to_be_visible()


def test_a_commissioner_plans_updates_in_place_and_meets_a_conflict(
    page: Page, commissioner, commissioning_org, password
):
    _sign_in(page, commissioner, password)

    settled_header(page).get_by_role("link", name="Plans").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Action plans")
    assert_accessible(page)

    page.get_by_role("link", name="Start a plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a plan")
    assert_accessible(page)
    page.get_by_role("button", name="Create plan").click()  # empty: errors, nothing saved
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Title").fill("Crisis care across London")
    page.get_by_label("Summary").fill("Crisis help **within hours**, everywhere.")
    page.get_by_label("Lead organisation").select_option(label="NCL ICB (test)")
    # NHS.UK date inputs: day, month and year boxes under each date's legend.
    for name, (day, month, year) in {"period_start": ("1", "4", "2026"), "period_end": ("31", "3", "2029")}.items():
        page.locator(f'input[name="{name}_day"]').fill(day)
        page.locator(f'input[name="{name}_month"]').fill(month)
        page.locator(f'input[name="{name}_year"]').fill(year)
    page.get_by_role("button", name="Create plan").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Crisis care across London")
    expect(page.locator(".lmh-markdown strong")).to_have_text("within hours")
    assert_accessible(page)
    plan = Plan.objects.get(title="Crisis care across London")

    page.get_by_role("link", name="Add an action under key step 4").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add an action")
    assert_accessible(page)
    page.get_by_label("Title").fill("Open a crisis café")
    for part, value in (("day", "31"), ("month", "3"), ("year", "2027")):
        page.locator(f'input[name="due_date_{part}"]').fill(value)
    page.get_by_role("button", name="Add action").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a crisis café")
    assert_accessible(page)
    action = Action.objects.get(title="Open a crisis café")
    assert action.key_step.number == 4

    # In place: htmx posts the row's form and swaps the row; the page does not reload.
    page.get_by_role("link", name=plan.title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(plan.title)
    # htmx binds the row's form once the page has loaded; a busy machine can take a moment.
    page.wait_for_load_state()
    page.wait_for_function("() => window.htmx !== undefined")
    row = page.locator(f"#action-{action.pk}")
    page.evaluate("() => { window.__samePage = true }")
    row.get_by_label("Status of Open a crisis café").select_option(label="At risk")
    row.get_by_label("Progress (%) of Open a crisis café").fill("40")
    row.get_by_role("button", name="Update Open a crisis café").click()
    row = page.locator(f"#action-{action.pk}")
    expect(row.get_by_role("status")).to_have_text("Saved: at risk, 40%.")
    assert page.evaluate("() => window.__samePage === true")
    expect(row).to_have_class(re.compile("lmh-action--attention"))
    assert_accessible(page)

    # Someone else saves meanwhile; the in-place edit is refused and shows their values.
    fresh = Action.objects.get(pk=action.pk)
    colleague = MembershipFactory(organisation=commissioning_org).user
    services.action_set_progress(actor=colleague, action=fresh, expected_version=fresh.version, progress=55)
    row.get_by_label("Status of Open a crisis café").select_option(label="Off track")
    row.get_by_role("button", name="Update Open a crisis café").click()
    row = page.locator(f"#action-{action.pk}")
    expect(row.get_by_role("alert")).to_contain_text("Not saved: someone else changed this action.")
    expect(row.get_by_label("Progress (%) of Open a crisis café")).to_have_value("55")
    assert_accessible(page)
    row.get_by_label("Status of Open a crisis café").select_option(label="Off track")
    row.get_by_role("button", name="Update Open a crisis café").click()
    expect(page.locator(f"#action-{action.pk}").get_by_role("status")).to_have_text("Saved: off track, 55%.")

    # The full edit form: a stale save shows the conflict page, and "Save my version" re-applies.
    # This time the other save is the commissioner's own, from another window: the page says so.
    page.goto(f"/plans/{plan.slug}/actions/{action.pk}/edit/")
    assert_accessible(page)
    page.get_by_label("Title").fill("Open crisis cafés in every borough")
    fresh = Action.objects.get(pk=action.pk)
    services.action_update(actor=commissioner, action=fresh, expected_version=fresh.version, values={"weight": 5})
    page.get_by_role("button", name="Save action").click()
    expect(
        page.get_by_role("heading", name="You changed this in another window while you were editing")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Keep the saved version")).to_be_visible()
    expect(page.locator("#conflict-table")).to_contain_text("Open crisis cafés in every borough")
    assert_accessible(page)
    page.get_by_role("button", name="Save my version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open crisis cafés in every borough")
    saved = Action.objects.get(pk=action.pk)
    assert (saved.title, saved.status) == ("Open crisis cafés in every borough", "off_track")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator(".lmh-history")).to_contain_text("Casey Commissioner")
    assert_accessible(page)

    for path in [
        f"/plans/{plan.slug}/history/",
        f"/plans/{plan.slug}/people/",
        f"/plans/{plan.slug}/status/",
        f"/plans/{plan.slug}/print/",
        "/my-work/",
        "/key-steps/",
        "/key-steps/4/",
        "/evidence/",
    ]:
        page.goto(path)
        assert_accessible(page)
