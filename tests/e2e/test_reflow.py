"""Pages fit a 320 CSS pixel wide screen without scrolling sideways (WCAG 2.2, 1.4.10 Reflow).

axe-core cannot judge reflow, so the test measures it: at 320 pixels the page must be no
wider than the window. Wide tables scroll inside their own container instead.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from stakeholders import services
from tests.e2e.conftest import assert_accessible

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
