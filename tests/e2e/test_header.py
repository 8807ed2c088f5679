"""The NHS.UK header's navigation, and why browser tests click its links through `settled_header`.

The header measures its links by taking each one out of the list and putting it back, once just
after it starts and again on every resize. A click whose mouse-down comes before that and whose
mouse-up comes after it is dropped by Chromium: the link left the page in between. A test that
clicks a header link the moment a page arrives can meet it (a commissioning journey stayed on
"My work", once, in a fresh-clone run).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import settled_header

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Counts the clicks the document receives, and, if asked, makes the header lay out its links again
# (a resize) as the mouse goes down on the "Plans" link.
_WATCH = """(relayout) => {
  window.clicks = 0;
  document.addEventListener('click', () => { window.clicks += 1; }, true);
  const plans = [...document.querySelectorAll('header a')].find((a) => a.textContent.trim() === 'Plans');
  if (relayout) plans.addEventListener('mousedown', () => window.dispatchEvent(new Event('resize')));
}"""


def _plans_link(page: Page):
    return page.locator("header").get_by_role("link", name="Plans", exact=True)


def test_a_click_that_straddles_the_headers_relayout_is_lost(page: Page):
    page.goto("/")
    settled_header(page)
    page.evaluate(_WATCH, True)
    # The mouse stays down for 200 ms: long enough for the header's next animation frame.
    _plans_link(page).click(delay=200)
    assert page.evaluate("window.clicks") == 0
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Action plans")

    # The same slow click with no re-layout in the middle is a click, and follows the link.
    page.goto("/")
    settled_header(page)
    page.evaluate(_WATCH, False)
    _plans_link(page).click(delay=200)
    expect(page.get_by_role("heading", level=1)).to_have_text("Action plans")
