"""/api/docs/ in a real browser: a portal page whose Swagger UI starts under the portal's CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AXE_SCRIPT, AXE_TAGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_api_docs_page_shows_swagger_ui_inside_the_portal_and_leads_back(page: Page, live_server):
    page.goto("/api/docs/")
    expect(page.get_by_role("heading", name="API documentation", level=1)).to_be_visible()
    # Swagger UI's start-up script ran (it is a file; the CSP allows no inline script).
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".nhsuk-header")).to_be_visible()

    # The portal's own part of the page passes axe; Swagger UI is third-party, and the
    # accessibility statement says so.
    page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(
        """async (tags) => (await axe.run({exclude: [["#swagger-ui"]]},
            {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})).violations.map(v => v.id)""",
        AXE_TAGS,
    )
    assert violations == []

    page.get_by_role("link", name="Back to the portal").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_the_api_docs_page_fits_a_narrow_phone_screen(page: Page):
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/api/docs/")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    page_width, window_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page_width <= window_width
