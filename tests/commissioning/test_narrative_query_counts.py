"""Exact query counts for the stories index, a story page, the feed and the API, at two sizes."""

from __future__ import annotations

import pytest

from commissioning.narrative import services
from stakeholders.models import Area, AreaLevel

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[2, 8], ids=["2-stories", "8-stories"])
def stories(request, commissioner, staff):
    """`n` boroughs' stories of the last complete quarter (Camden and Islington among them, which the
    commissioner edits), all published but one of Camden's drafts of the quarter before."""
    n = request.param
    quarter = services.last_complete_quarter()
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("-short_code")[: n - 2])
    boroughs += list(Area.objects.filter(short_code__in=["CMD", "ISL"]))
    made = []
    for area in boroughs:
        story = services.story_draft(actor=None, area=area, quarter_start=quarter).story
        made.append(services.story_publish(actor=staff, story=story, expected_version=story.version))
    earlier = services.story_draft(
        actor=None, area=boroughs[-1], quarter_start=services.last_complete_quarter(quarter)
    ).story
    return made, earlier


def test_the_stories_index_runs_a_fixed_number_of_queries(client, stories, django_assert_num_queries):
    # The filter form's areas (1), the page's count and its stories with their areas (2).
    with django_assert_num_queries(3):
        response = client.get("/stories/")
    assert response.status_code == 200
    assert response.content.decode().count('class="nhsuk-heading-s') == len(stories[0])


def test_the_stories_index_for_an_editor_runs_a_fixed_number_of_queries(
    client_for, commissioner, stories, django_assert_num_queries
):
    client = client_for(commissioner)
    # Session and user (2), the boroughs they commission (1), their memberships and partnerships (2),
    # the count (1), the header's unread notifications and role links (2), the filter's and the draft
    # form's areas (2), the page of stories with their areas (1), other header and messages reads (2)
    # and the session's save (1).
    with django_assert_num_queries(14):
        response = client.get("/stories/")
    assert response.status_code == 200
    assert response.content.decode().count('class="nhsuk-heading-s') == len(stories[0]) + 1


def test_a_story_page_runs_a_fixed_number_of_queries(client, stories, django_assert_num_queries):
    story = stories[0][0]
    # The story with its area and editors (1), the history middleware's context (1), its history
    # events (1), the users they name (1) and the areas named in its diffs (1).
    with django_assert_num_queries(5):
        response = client.get(story.get_absolute_url())
    assert response.status_code == 200


def test_the_feed_and_the_api_run_a_fixed_number_of_queries(client, stories, django_assert_num_queries):
    # The published stories with their areas (1).
    with django_assert_num_queries(1):
        assert client.get("/stories/feed/").status_code == 200
    # The count and the page with areas (2).
    with django_assert_num_queries(2):
        body = client.get("/api/v1/stories/").json()
    assert body["count"] == len(stories[0])
