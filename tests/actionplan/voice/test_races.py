"""The comment rate limit under a real burst of concurrent posts (issue 25, part 2)."""

from __future__ import annotations

import pytest

from actionplan.models import Comment
from tests.races import Call, fire, token_headers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_burst_of_thirty_concurrent_comments_stores_exactly_the_hourly_limit(
    live_server, public_plan, service_user, settings
):
    settings.VOICE_COMMENT_RATE_LIMIT = 10
    auth = token_headers(service_user)
    url = f"{live_server.url}/api/v1/comments/"
    # Ten at once (the live server's listen queue), three waves: 30 posts, 10 may land.
    codes = []
    for wave in range(3):
        calls = [Call("POST", url, auth, {"plan": public_plan.slug, "body": f"Comment {wave}-{n}"}) for n in range(10)]
        codes += fire(calls)
    assert sorted(codes) == [201] * 10 + [429] * 20, codes
    assert Comment.objects.filter(author=service_user).count() == 10
