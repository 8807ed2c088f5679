"""A commissioner drafts a payment statement, the provider is told and disputes a line on a phone,
the commissioner answers in the line's thread, both agree, and the statement locks (issue 22:
the loop between two real accounts, in a real browser, axe-core on every page)."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from commissioning.statements.models import PaymentStatement, StatementStatus
from tests.commissioning.conftest import contract, detentions, recovery  # noqa: F401 - fixtures
from tests.commissioning.test_statements import measures  # noqa: F401 - fixture
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _line(page: Page, name: str):
    return page.locator("section").filter(has=page.get_by_role("heading", name=re.compile(re.escape(name))))


def test_a_statement_is_drafted_disputed_answered_agreed_and_locked(
    page: Page,
    commissioner,
    provider,
    contract,  # noqa: F811 - the fixtures imported above
    measures,  # noqa: F811
    password,
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto(f"/commissioning/contracts/{contract.pk}/")
    page.get_by_role("link", name="Payment statements").click()
    page.get_by_role("button", name="Draft a statement").click()
    page.get_by_role("button", name="Draft the statement").click()  # nothing chosen: an error, nothing lost
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile("2025-26 Q4: January to March 2026")).check()
    page.get_by_role("button", name="Draft the statement").click()
    expect(page.get_by_text("Statement drafted. The provider has been told.")).to_be_visible()
    expect(page.locator("#statement-totals")).to_contain_text("£45,000")  # a quarter of 15% of £1.2m
    assert_accessible(page)
    sign_out(page)

    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, provider, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("drafted the payment statement")).click()
    expect(page.get_by_role("heading", level=2, name=re.compile("Payment statement, 2025-26 Q4"))).to_be_visible()
    with contextlib.suppress(PlaywrightTimeoutError):  # the header folds its links once its script has run
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    rate = _line(page, "Detentions per 100,000 (test)")
    rate.get_by_label("Dispute", exact=True).check()
    rate.get_by_role("button", name=re.compile("Record your stance")).click()
    expect(page.get_by_text("There is a problem")).to_be_visible()  # a dispute needs a reason
    assert_accessible(page)
    rate = _line(page, "Detentions per 100,000 (test)")
    rate.get_by_label("Dispute", exact=True).check()
    rate.get_by_label("Reason (needed to dispute)").fill("Two detentions were of people from outside the area.")
    rate.get_by_role("button", name=re.compile("Record your stance")).click()
    expect(page.get_by_text("You disputed the line; the other side has been told.")).to_be_visible()
    sign_out(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("disputed “Detentions")).click()
    rate = _line(page, "Detentions per 100,000 (test)")
    expect(rate).to_contain_text("Two detentions were of people from outside the area.")
    rate.get_by_label("Your message").fill("Agreed: they are excluded by schedule 2, and the rate still meets 14.")
    rate.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message was added")).to_be_visible()
    page.get_by_role("button", name="Agree every line for the commissioner").click()
    expect(page.get_by_text("You agreed 2 lines.")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    sign_in(page, provider, password)
    page.goto("/notifications/")
    page.get_by_role("link", name=re.compile("wrote about “Detentions")).click()
    expect(page.get_by_text("they are excluded by schedule 2")).to_be_visible()
    page.get_by_role("button", name="Agree every line for your organisation").click()
    expect(page.locator("#statement-heading")).to_contain_text("Agreed and locked")
    assert_accessible(page)
    statement = PaymentStatement.objects.get(contract=contract)
    assert statement.status == StatementStatus.LOCKED
    sign_out(page)

    sign_in(page, commissioner, password)
    page.goto("/notifications/")
    expect(page.get_by_role("link", name=re.compile("agreed by every party and locked"))).to_be_visible()
