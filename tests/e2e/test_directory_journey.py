"""A commissioner's journey through the directory in a real browser, with axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from stakeholders.models import OrganisationType
from tests.e2e.conftest import assert_accessible
from tests.factories import OrganisationFactory

# The live server is another thread, so tests commit (transaction=True); serialized_rollback
# puts back the boroughs the migrations loaded, which the flush after each test removes.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def directory(commissioning_org, provider_org, other_org):
    """Enough organisations that filtering by type and by borough each leave something out."""
    OrganisationFactory(name="SEL ICB (test)", type=OrganisationType.ICB_COMMISSIONER, boroughs=["LAM", "SWK"])
    OrganisationFactory(name="Camden Council (test)", type=OrganisationType.LA_COMMISSIONER, boroughs=["CMD"])
    commissioning_org.website = "https://ncl.example.org/"
    commissioning_org.save()
    return commissioning_org


def _header_link(page: Page, name: str):
    """A header link, opening "More" when the role's own links have pushed it there (issue 19)."""
    header = page.locator("header")
    link = header.get_by_role("link", name=name, exact=True)
    if link.count() == 0:
        header.get_by_role("button", name=re.compile("More")).click()
    return link


def test_a_commissioner_signs_in_and_finds_their_organisation_and_borough(
    page: Page, directory, commissioner, password
):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("London mental health portal")
    assert_accessible(page)

    page.locator("header").get_by_role("link", name="Sign in").click()
    expect(page).to_have_title(re.compile(r"^Sign in"))
    assert_accessible(page)
    page.get_by_label("Email address").fill(commissioner.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

    # Signing in lands a commissioner on My work (issue 19); the profile lists their organisation.
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    page.locator("header").get_by_role("link", name=commissioner.display_name).click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_role("link", name="NCL ICB (test)")).to_be_visible()
    assert_accessible(page)

    _header_link(page, "Organisations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    expect(page.get_by_role("table")).to_contain_text("Provider Trust (test)")
    assert_accessible(page)

    page.get_by_label("Type", exact=True).select_option(label="ICB commissioner")
    page.get_by_label("Borough served").select_option(label="Camden")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"type=icb"))
    table = page.get_by_role("table")
    expect(table.get_by_role("caption")).to_have_text("1 organisation")
    expect(table).to_contain_text("NCL ICB (test)")
    # Same type, other boroughs; same borough, other types: both filtered out.
    expect(table).not_to_contain_text("SEL ICB (test)")
    expect(table).not_to_contain_text("Camden Council (test)")
    assert_accessible(page)

    table.get_by_role("link", name="NCL ICB (test)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("NCL ICB (test)")
    expect(page.get_by_role("link", name="https://ncl.example.org/")).to_have_attribute(
        "href", "https://ncl.example.org/"
    )
    # Members are shown because the commissioner is one of them.
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    members = page.get_by_role("table", name="Members of NCL ICB (test)")
    expect(members.get_by_role("row", name=re.compile("Casey Commissioner"))).to_contain_text("Commissioner")
    assert_accessible(page)

    page.get_by_role("link", name="Camden", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Camden")
    expect(page.get_by_role("link", name="North Central London")).to_be_visible()
    serving = page.get_by_role("heading", name="Organisations serving Camden")
    expect(serving).to_be_visible()
    expect(page.get_by_role("link", name="NCL ICB (test)")).to_be_visible()
    expect(page.get_by_role("link", name="Provider Trust (test)")).to_be_visible()
    assert_accessible(page)

    _header_link(page, "Boroughs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("London's boroughs")
    assert_accessible(page)


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_main_content(page: Page, db):
    page.goto("/")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()  # visually hidden until focused
    page.keyboard.press("Enter")
    expect(page.locator("#maincontent")).to_be_focused()


def test_an_empty_sign_up_form_shows_an_accessible_error_summary(page: Page, db):
    page.goto("/account/sign-up/")
    assert_accessible(page)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_title(re.compile(r"^Error: Create an account"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    # NHS.UK's script moves focus to the summary so screen readers announce it.
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    expect(links).to_have_count(4)  # display name, email, password, terms
    assert_accessible(page)

    # Each link in the summary takes focus to the field in error.
    links.first.click()
    expect(page.get_by_label("Display name")).to_be_focused()


def test_the_page_not_found_page_is_accessible(page: Page, db):
    response = page.goto("/organisations/no-such-organisation/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_accessible(page)
