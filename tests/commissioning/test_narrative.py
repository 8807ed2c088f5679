"""Quarterly stories told from the data (issue 23): drafting, disclosure control, idempotency,
permissions, editing and publishing, the Atom feed, the API and notifications."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from actionplan.models import Follow, Notification
from commissioning.narrative import services
from commissioning.narrative.models import Story, StoryStatus
from kernel.concurrency import StaleEdit
from stakeholders.models import OrganisationType, Role
from tests.api.helpers import assert_problem
from tests.commissioning import narrative_helpers as h
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def world(commissioner, commissioning_org, provider_org, service_user):
    return h.build(
        commissioner=commissioner,
        commissioning_org=commissioning_org,
        provider_org=provider_org,
        service_user=service_user,
    )


@pytest.fixture
def story(world):
    quarter = h.this_quarter()
    with h.after_the_quarter():
        return services.story_draft(actor=None, area=world.camden, quarter_start=quarter).story


@pytest.fixture
def lambeth_commissioner(db):
    """A commissioner of a council that commissions Lambeth only: may edit London's story, not Camden's."""
    council = OrganisationFactory(
        name="Lambeth Council (test)", type=OrganisationType.LA_COMMISSIONER, boroughs=["LAM"]
    )
    return MembershipFactory(organisation=council, role=Role.COMMISSIONER, user__display_name="Lee Lambeth").user


def _published(story, actor):
    story.refresh_from_db()
    return services.story_publish(actor=actor, story=story, expected_version=story.version)


# Drafting ---------------------------------------------------------------------------------------


def test_a_draft_is_composed_from_the_quarters_figures_actions_decisions_and_responses(story, world):
    assert story.status == StoryStatus.DRAFT
    assert story.title == f"Camden's mental health story: {h.this_quarter():%B} to " + story.quarter_end.strftime(
        "%B %Y"
    )
    body = story.body
    assert "**Recovery rate (test)** got significantly better: 52.3% in" in body
    assert "**Crisis waits (test)** got significantly worse: 61.2% in" in body
    assert "**Referrals share (test)** fell significantly" in body
    assert "**Follow-up in 72 hours (test)** was 70.0% in" in body and "no significant change" in body
    assert "**New measure (test)** was 44.4%" in body and "not yet enough periods" in body
    assert f"**{world.done_title}** is done" in body
    assert f"**{world.decision_title}**: Agreed by Camden partnership (test)" in body
    assert f"You said: “{world.said}” We did: {world.did}" in body
    kinds = [s["kind"] for s in story.sources]
    assert kinds.count("indicator") == 5 and kinds.count("action") == 1
    assert kinds.count("decision") == 1 and kinds.count("response") == 1


def test_it_says_significantly_only_where_the_trend_test_found_a_change(story):
    lines = [line for line in story.body.splitlines() if line.startswith("- **")]
    significant = [line for line in lines if "significantly" in line and "no significant" not in line]
    assert sorted(line.split("**")[1] for line in significant) == [
        "Crisis waits (test)",
        "Recovery rate (test)",
        "Referrals share (test)",
    ]
    steady = next(line for line in lines if "Follow-up" in line)
    assert "better" not in steady and "worse" not in steady
    assert "Follow-up" not in story.easy_read  # no change: "Other things stayed about the same."
    assert "Recovery rate (test) got better." in story.easy_read_lines
    assert "Crisis waits (test) got worse." in story.easy_read_lines
    assert "Referrals share (test) went down." in story.easy_read_lines


def test_a_figure_disclosure_control_hides_never_appears_in_any_version(story):
    everything = "\n".join([story.title, story.body, story.easy_read, json.dumps(story.sources)])
    for hidden in (h.SECRET_NAME, "37.1", "37.125", "Tiny count (test)", "Provisional only (test)", "99.9"):
        assert hidden not in everything
    assert "2 more figures for this quarter are not shown, to protect people's privacy" in story.body


def test_work_on_a_private_plan_and_unfinished_work_and_open_proposals_are_not_told(story):
    for private in ("Private finished work (test)", "Still going (test)", "Still only proposed (test)"):
        assert private not in story.body and private not in story.easy_read


def test_the_easy_read_version_has_one_short_idea_a_line(story, world):
    lines = story.easy_read_lines
    assert lines[0] == "This is about mental health in Camden."
    assert f"We finished: {world.done_title}." in lines
    assert f"They agreed: {world.decision_title}." in lines
    assert all(len(line) <= 160 for line in lines)


def test_redrafting_reads_an_untouched_draft_again_but_never_duplicates_or_overwrites_an_edit(
    story, world, commissioner
):
    quarter = h.this_quarter()
    with h.after_the_quarter():
        again = services.story_draft(actor=None, area=world.camden, quarter_start=quarter)
        assert again.outcome == services.Drafted.REFRESHED and again.story.pk == story.pk
        assert again.story.version == story.version  # the same data: nothing written, no empty history
        story.refresh_from_db()
        services.story_update(
            actor=commissioner,
            story=story,
            expected_version=story.version,
            title="Camden, in our words",
            body="Our own words.",
            easy_read="Short.\nLines.",
        )
        kept = services.story_draft(actor=None, area=world.camden, quarter_start=quarter)
    assert kept.outcome == services.Drafted.KEPT
    assert Story.objects.filter(area=world.camden).count() == 1
    story.refresh_from_db()
    assert (story.title, story.body, story.easy_read) == (
        "Camden, in our words",
        "Our own words.\n",
        "Short.\nLines.\n",
    )


def test_a_quarter_that_has_not_ended_is_not_drafted(world):
    with pytest.raises(ValidationError, match="once its quarter has ended"):
        services.story_draft(actor=None, area=world.camden, quarter_start=h.this_quarter())


def test_a_sub_region_has_no_story_of_its_own(world):
    from stakeholders.models import Area

    quarter = h.this_quarter()
    with h.after_the_quarter(), pytest.raises(ValidationError, match="London and for each borough"):
        services.story_draft(actor=None, area=Area.objects.get(short_code="NCL"), quarter_start=quarter)


def test_the_management_command_drafts_and_reports_progress(world, capsys):
    quarter_label = Story(quarter_start=h.this_quarter()).quarter_label
    with h.after_the_quarter():
        call_command("draft_stories", quarter=quarter_label, area=["E09000007", "E12000007"])
        call_command("draft_stories", quarter=quarter_label, area=["E09000007"])
    out = capsys.readouterr().out
    assert "[1/2] London: created" in out and "[2/2] Camden: created" in out
    assert "[1/1] Camden: refreshed" in out
    assert Story.objects.count() == 2


def test_the_management_command_explains_a_bad_quarter(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2026-27 Q2"):
        call_command("draft_stories", quarter="Q5")


# Notifications ----------------------------------------------------------------------------------


def test_commissioners_are_told_of_a_new_draft_once_and_followers_of_a_publication(
    world, commissioner, service_user, lambeth_commissioner
):
    Follow.objects.create(user=service_user, plan=world.plan)
    quarter = h.this_quarter()
    with h.after_the_quarter():
        story = services.story_draft(actor=None, area=world.camden, quarter_start=quarter).story
        services.story_draft(actor=None, area=world.camden, quarter_start=quarter)
    told = Notification.objects.filter(kind="story")
    assert list(told.values_list("recipient", flat=True)) == [commissioner.pk]  # not Lambeth's
    _published(story, commissioner)
    published = told.filter(recipient=service_user)
    assert published.count() == 1 and "is published" in published.get().text
    assert told.filter(recipient=commissioner).count() == 1  # not told of their own act


# Permissions, editing and publishing ------------------------------------------------------------


def test_a_draft_is_seen_by_its_editors_only(story, client_for, commissioner, lambeth_commissioner, outsider, staff):
    url = reverse("story_detail", args=[story.pk])
    assert client_for(commissioner).get(url).status_code == 200
    assert client_for(staff).get(url).status_code == 200
    for stranger in (None, outsider, lambeth_commissioner):
        assert client_for(stranger).get(url).status_code == 404
        assert client_for(stranger).get(reverse("story_print", args=[story.pk])).status_code == 404
    assert client_for(None).get(reverse("story_edit", args=[story.pk])).status_code == 302


def test_a_published_story_is_public_and_its_readers_may_not_edit_it(story, client_for, commissioner, outsider):
    _published(story, commissioner)
    for reader in (None, outsider):
        page = client_for(reader).get(reverse("story_detail", args=[story.pk]))
        assert page.status_code == 200 and "Open the Camden crisis café (test)" in page.content.decode()
    assert client_for(outsider).get(reverse("story_edit", args=[story.pk])).status_code == 403
    assert client_for(outsider).post(reverse("story_publish", args=[story.pk])).status_code == 403
    assert client_for(None).get(reverse("story_detail", args=[999_999])).status_code == 404


def test_the_story_page_has_an_easy_read_version_and_a_print_view(story, client_for, commissioner):
    _published(story, commissioner)
    client = client_for(None)
    easy = client.get(reverse("story_detail", args=[story.pk]), {"version": "easy-read"}).content.decode()
    assert "This is about mental health in Camden." in easy and "got significantly" not in easy
    printed = client.get(reverse("story_print", args=[story.pk])).content.decode()
    assert "lmh-print" in printed and "This is about mental health in Camden." in printed
    assert "got significantly better" in printed


def test_a_commissioner_edits_and_publishes_a_draft_in_the_browser(story, client_for, commissioner):
    client = client_for(commissioner)
    edit = reverse("story_edit", args=[story.pk])
    data = {"title": "Camden this quarter", "body": "## News\n\nGood news.", "easy_read": "Good news.", "version": 1}
    preview = client.post(edit, {**data, "preview": "1"})
    assert preview.status_code == 200 and "<h2" in preview.content.decode()
    story.refresh_from_db()
    assert story.title != "Camden this quarter"  # a preview saves nothing
    assert client.post(edit, {**data, "version": story.version}).status_code == 302
    story.refresh_from_db()
    assert story.edited and story.edited_by == commissioner
    client.post(reverse("story_publish", args=[story.pk]), {"version": story.version})
    story.refresh_from_db()
    assert story.status == StoryStatus.PUBLISHED and story.published_by == commissioner
    history = client.get(reverse("story_detail", args=[story.pk])).content.decode()
    assert "Casey Commissioner" in history


def test_bad_input_keeps_what_was_typed_and_a_stale_edit_is_refused(story, client_for, commissioner):
    client = client_for(commissioner)
    edit = reverse("story_edit", args=[story.pk])
    empty = client.post(edit, {"title": "Kept title", "body": "", "easy_read": "Kept line.", "version": 1})
    page = empty.content.decode()
    assert empty.status_code == 200 and "nhsuk-error-summary" in page
    assert "Kept title" in page and "Kept line." in page
    story.refresh_from_db()
    old = story.version
    services.story_update(
        actor=commissioner, story=story, expected_version=old, title="Theirs", body="Theirs.", easy_read="Theirs."
    )
    stale = client.post(edit, {"title": "Mine", "body": "Mine.", "easy_read": "Mine.", "version": old})
    assert stale.status_code == 409 and "Mine." in stale.content.decode()
    story.refresh_from_db()
    assert story.title == "Theirs"
    with pytest.raises(StaleEdit):
        services.story_publish(actor=commissioner, story=story, expected_version=old)


def test_services_refuse_someone_who_may_not_edit(story, outsider):
    with pytest.raises(PermissionDenied):
        services.story_publish(actor=outsider, story=story, expected_version=story.version)


def test_a_published_story_cannot_be_published_twice(story, commissioner):
    _published(story, commissioner)
    with pytest.raises(ValidationError, match="already published"):
        _published(story, commissioner)


def test_the_index_filters_by_area_and_shows_drafts_only_to_editors(story, client_for, commissioner):
    index, link = reverse("story_list"), f'href="{story.get_absolute_url()}"'
    assert link in client_for(commissioner).get(index).content.decode()
    assert link not in client_for(None).get(index).content.decode()
    _published(story, commissioner)
    assert link in client_for(None).get(index, {"area": "E09000007"}).content.decode()
    assert link not in client_for(None).get(index, {"area": "E09000022"}).content.decode()


def test_draft_now_drafts_one_area_and_refuses_an_area_the_user_does_not_edit(world, client_for, commissioner):
    quarter = h.this_quarter().isoformat()
    with h.after_the_quarter():
        client = client_for(commissioner)  # signed in after the travel, so the session is fresh
        made = client.post(reverse("story_draft_now"), {"area": "E09000007", "quarter": quarter})
        assert made.status_code == 302
        refused = client.post(reverse("story_draft_now"), {"area": "E09000022", "quarter": quarter})
    assert refused.status_code == 400 and "nhsuk-error-summary" in refused.content.decode()
    assert list(Story.objects.values_list("area__short_code", flat=True)) == ["CMD"]


# The Atom feed ----------------------------------------------------------------------------------


def test_the_feed_is_valid_atom_with_published_stories_only(story, world, client_for, commissioner):
    empty = ET.fromstring(client_for(None).get(reverse("story_feed")).content)  # noqa: S314
    assert empty.findall(f"{ATOM}entry") == []
    _published(story, commissioner)
    response = client_for(None).get(reverse("story_feed"))
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314
    assert feed.tag == f"{ATOM}feed"
    # RFC 4287: a feed has an id, a title and an updated date; so does each entry, with a link.
    for element in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{element}").text
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    (entry,) = feed.findall(f"{ATOM}entry")
    for element in ("id", "title", "updated", "published", "summary"):
        assert entry.find(f"{ATOM}{element}").text, element
    assert entry.find(f"{ATOM}link").get("href").endswith(story.get_absolute_url())
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "Camden"
    assert h.SECRET_NAME not in response.content.decode()


# The API ----------------------------------------------------------------------------------------


def test_the_api_lists_published_stories_to_anyone_and_drafts_to_editors(story, client_for, commissioner, outsider):
    url = reverse("story-list")
    assert client_for(None).get(url).json()["count"] == 0
    assert client_for(commissioner).get(url).json()["count"] == 1
    assert_problem(client_for(outsider).get(reverse("story-detail", args=[story.pk])), 404)
    _published(story, commissioner)
    body = client_for(None).get(url, {"area": "E09000007"}).json()
    (row,) = body["results"]
    assert row["status"] == "published" and row["quarter"] == story.quarter_label
    assert {s["kind"] for s in row["sources"]} == {"indicator", "action", "decision", "response"}
    assert client_for(None).get(url, {"area": "E09000022"}).json()["count"] == 0


def test_the_api_edits_and_publishes_with_if_match(story, client_for, commissioner, outsider):
    client = client_for(commissioner)
    detail = reverse("story-detail", args=[story.pk])
    etag = client.get(detail)["ETag"]
    assert_problem(client.patch(detail, {"title": "New"}, content_type=JSON), 428)
    changed = client.patch(detail, {"title": "Camden, checked"}, content_type=JSON, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json()["edited"] is True
    assert_problem(client.patch(detail, {"title": "Again"}, content_type=JSON, headers={"If-Match": etag}), 412)
    assert_problem(client.patch(detail, {"body": ""}, content_type=JSON, headers={"If-Match": changed["ETag"]}), 400)
    publish = reverse("story-publish", args=[story.pk])
    done = client.post(publish, headers={"If-Match": changed["ETag"]})
    assert done.status_code == 200 and done.json()["status"] == "published"
    assert_problem(client_for(outsider).post(publish, headers={"If-Match": done["ETag"]}), 403)
    assert_problem(client_for(None).post(publish, headers={"If-Match": done["ETag"]}), 401)
