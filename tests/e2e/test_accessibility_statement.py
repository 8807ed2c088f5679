"""The accessibility statement is reachable from every page's footer and passes axe itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_footer_link_leads_to_the_statement_with_a_contact(page: Page, settings):
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Accessibility statement").click()
    expect(page.get_by_role("heading", level=1, name="Accessibility statement")).to_be_visible()
    expect(page.get_by_text(settings.SUPPORT_EMAIL)).to_be_visible()
    assert_accessible(page)
