"""A commissioner queries a value in the review queue, the provider is told, corrects the value from
the thread on a phone, and the commissioner sees the answer and resolves the query, approving it
(issue 22: the loop between two real accounts, in a real browser, axe-core on every page)."""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from commissioning.queries.models import QueryStatus, ValueQuery
from outcomes.models import ValueStatus
from tests.commissioning.test_value_queries import recovery, value  # noqa: F401 - fixtures
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_query_goes_to_the_provider_and_comes_back_answered(
    page: Page,
    commissioner,
    provider,
    value,  # noqa: F811 - the fixture imported above
    password,
):
    # On a phone the queue stacks each value, its figure and comparison in view: nothing to scroll.
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, commissioner, password)
    page.goto("/data/review/")
    row = page.locator("#id_values tbody tr", has_text="Recovery (query test)")
    for heading in ("Value", "Compared with"):
        cell = row.locator("td", has=page.locator(".nhsuk-table-responsive__heading", has_text=heading))
        box = cell.bounding_box(timeout=5000)
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320, (heading, box)
    with contextlib.suppress(PlaywrightTimeoutError):  # the header folds its links once loaded
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    assert_no_sideways_scrolling(page)
    assert_accessible(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/data/review/")
    page.get_by_label(re.compile("Select Recovery \\(query test\\)")).check()
    page.get_by_label("Reason, for the provider").fill("80% is far above your usual figure: is the denominator right?")
    page.get_by_role("button", name="Query").click()
    expect(page.get_by_text("1 value queried.")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, provider, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("queried 1 value")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery (query test), Camden, 2025-03")
    # The header's script folds its links into "More" once the page has loaded; measure after it.
    with contextlib.suppress(PlaywrightTimeoutError):  # if it never does, the assertion says how wide
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.get_by_label("Numerator").fill("40")
    page.get_by_label("Denominator").fill("100")
    page.get_by_label("What you changed, for the commissioner (optional)").fill("We had counted referrals twice.")
    page.get_by_role("button", name="Correct the value").click()
    expect(page.get_by_text("The value was corrected and sent for review")).to_be_visible()
    expect(page.get_by_text("We had counted referrals twice.")).to_be_visible()
    sign_out(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("corrected the value in your query")).click()
    expect(page.get_by_text("40.0% (40 of 100)")).to_be_visible()
    page.get_by_label("Approve the value as it stands").check()
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("The query is resolved and the value approved.")).to_be_visible()
    assert_accessible(page)
    query = ValueQuery.objects.get(value=value)
    value.refresh_from_db()
    assert query.status == QueryStatus.RESOLVED and value.status == ValueStatus.APPROVED
    assert value.numerator == Decimal(40)
