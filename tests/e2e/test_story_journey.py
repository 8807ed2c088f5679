"""A commissioner checks, edits and publishes Camden's quarterly story at desktop width; a member of
the public then finds it on a phone (320 px), reads its Easy Read version, its print view and the
feed (issue 23: a real browser, axe-core on every page, no sideways scrolling)."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from commissioning.narrative import services
from commissioning.narrative.models import Story
from tests.commissioning import narrative_helpers as h
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_reflow import assert_no_sideways_scrolling
from tests.e2e.test_voice_journey import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _checked_on_a_phone(page: Page) -> None:
    """axe and reflow at 320 px, once the header's script has folded its links into "More"."""
    page.wait_for_load_state()
    with contextlib.suppress(PlaywrightTimeoutError):  # if it never does, the assertion says how wide
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    assert_accessible(page)
    assert_no_sideways_scrolling(page)


@pytest.fixture
def story(commissioner, commissioning_org, provider_org, service_user):
    world = h.build(
        commissioner=commissioner,
        commissioning_org=commissioning_org,
        provider_org=provider_org,
        service_user=service_user,
    )
    quarter = h.this_quarter()
    with h.after_the_quarter():
        return services.story_draft(actor=None, area=world.camden, quarter_start=quarter).story


def test_a_commissioner_publishes_a_story_and_the_public_reads_it_and_its_easy_read_version_on_a_phone(
    page: Page, story, commissioner, password, tmp_path
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, commissioner, password)
    page.goto("/stories/")
    assert_accessible(page)
    page.get_by_role("link", name=story.title).click()
    expect(page.get_by_text("Draft: only the area's commissioners can see it")).to_be_visible()
    expect(page.locator("#story-body").get_by_text("got significantly better")).to_be_visible()
    assert h.SECRET_NAME not in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="Edit the story").click()
    assert_accessible(page)
    page.get_by_label("The story").fill("")
    page.get_by_role("button", name="Save the story").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("The story").fill(story.body + "\nChecked by the Camden commissioning team.")
    page.get_by_label("Easy Read version").fill(story.easy_read + "The café is open at weekends now.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview (not saved)")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Save the story").click()
    expect(page.get_by_text("Story saved.")).to_be_visible()
    page.get_by_role("button", name="Publish the story and its Easy Read version").click()
    expect(page.get_by_text("Published, with its Easy Read version.")).to_be_visible()
    assert_accessible(page)
    sign_out(page)

    # The public, on a phone.
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    page.get_by_role("link", name="the mental health stories").click()
    page.get_by_label("Area").select_option(label="Camden")
    page.get_by_role("button", name="Show stories").click()
    _checked_on_a_phone(page)
    page.get_by_role("link", name=story.title).click()
    expect(page.locator("#story-body").get_by_text("Checked by the Camden commissioning team.")).to_be_visible()
    _checked_on_a_phone(page)
    page.get_by_role("link", name="Easy Read", exact=True).click()
    expect(page.locator("#easy-read").get_by_text("This is about mental health in Camden.")).to_be_visible()
    expect(page.locator("#easy-read").get_by_text("The café is open at weekends now.")).to_be_visible()
    expect(page.locator("#easy-read").get_by_text("got significantly better")).to_have_count(0)
    _checked_on_a_phone(page)
    page.screenshot(path=str(tmp_path / "easy-read-320.png"), full_page=True)
    page.get_by_role("link", name="Print version").click()
    expect(page.get_by_role("heading", name="Easy Read")).to_be_visible()
    _checked_on_a_phone(page)
    feed = page.request.get("/stories/feed/")
    assert (feed.ok and story.title.replace("'", "&#x27;") in feed.text()) or story.title in feed.text()
    assert Story.objects.get(pk=story.pk).status == "published"
