"""A commissioner who manages two plans finds their crisis cafés listed as possible duplicates,
compares them, makes a mistake in the merge form and is told, merges them into one shared action,
sees it on both plans, then on a phone finds the merge among the decisions and splits it
(issue 23: a real browser, axe-core on every page, 1280 and 320 px)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from actionplan import services as plan_services
from actionplan.duplicates.models import MergeRecord
from actionplan.models import Action, KeyStep, PlanStatus
from outcomes.models import PriorityArea
from stakeholders.models import Area
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def cafes(commissioner, commissioning_org):
    crisis = PriorityArea.objects.get(slug="crisis-care")
    step = KeyStep.objects.get(number=6)
    made = []
    for title, scope, area, action_title in (
        ("NCL crisis plan (journey)", "sub_region", "NCL", "Crisis café in every NCL borough"),
        ("Islington crisis plan (journey)", "boroughs", "ISL", "Crisis café in Islington, open evenings"),
    ):
        plan = plan_services.plan_create(
            actor=commissioner,
            title=title,
            scope=scope,
            areas=[Area.objects.get(short_code=area)],
            lead_organisation=commissioning_org,
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2029, 3, 31),
            status=PlanStatus.ACTIVE,
        )
        made.append(
            plan_services.action_create(
                actor=commissioner,
                plan=plan,
                key_step=step,
                title=action_title,
                description="An evening alternative to A&E, run with peer workers.",
                owner_organisation=commissioning_org,
                priority_areas=[crisis],
            )
        )
    return made


def _settle(page: Page) -> None:
    # After a click the next page may still be loading: wait for it, then for the header's script
    # to fold its links into "More" (until then they overflow, white on grey, and fail axe).
    page.wait_for_load_state()
    with contextlib.suppress(PlaywrightTimeoutError):  # the header folds its links once loaded
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )


def test_two_crisis_cafes_are_found_merged_shown_on_both_plans_and_split(page: Page, commissioner, cafes, password):
    ncl_cafe, islington_cafe = cafes
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto("/plans/")
    page.get_by_role("link", name="Possible duplicates across plans").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible duplicates (1)")
    expect(page.locator("#duplicate-pairs")).to_contain_text("both about Crisis care")
    expect(page.locator("#duplicate-pairs")).to_contain_text("both in Islington")
    assert_accessible(page)
    page.get_by_role("link", name="Compare, merge or dismiss").click()
    expect(page.locator("#pair-compare")).to_contain_text("Islington crisis plan (journey)")
    assert_accessible(page)

    # Merging without choosing which action stays: the error says so, and the reason is kept.
    page.get_by_label("Why merge them? (optional)").fill("The same café, planned twice.")
    page.get_by_role("button", name="Merge these actions").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.get_by_label("Why merge them? (optional)")).to_have_value("The same café, planned twice.")
    assert_accessible(page)
    page.get_by_label(f"{ncl_cafe.title} (NCL crisis plan (journey))").check()
    page.get_by_role("button", name="Merge these actions").click()
    expect(page.get_by_text("now shared by both plans")).to_be_visible()
    expect(page.locator("#merge-summary")).to_contain_text(islington_cafe.title)
    assert_accessible(page)

    # The Islington plan lists the shared action, marked as shared and linked to its own plan.
    page.goto(islington_cafe.plan.get_absolute_url())
    row = page.locator(f"#action-{ncl_cafe.pk}")
    expect(row).to_contain_text("Shared")
    expect(page.locator(f"#action-{islington_cafe.pk}")).to_have_count(0)
    assert_accessible(page)

    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/plans/duplicates/decided/")
    _settle(page)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.get_by_role("link", name=f"“{islington_cafe.title}” into “{ncl_cafe.title}”").click()
    page.wait_for_url("**/plans/duplicates/merges/*/")
    _settle(page)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.get_by_label("Why split them? (optional)").fill("Islington's café opens on different nights.")
    page.get_by_role("button", name="Split the merge").click()
    expect(page.get_by_text("is back in Islington crisis plan (journey)")).to_be_visible()
    _settle(page)
    assert_no_sideways_scrolling(page)
    assert_accessible(page)
    page.goto("/plans/duplicates/")
    _settle(page)
    assert_no_sideways_scrolling(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible duplicates (1)")
    assert_accessible(page)
    assert not MergeRecord.objects.get().is_live
    assert Action.objects.get(pk=islington_cafe.pk).merged_into_id is None
