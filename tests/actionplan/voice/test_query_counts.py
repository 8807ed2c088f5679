"""Exact query counts for the thread and "you said, we did" pages, at two sizes so an N+1 cannot hide."""

from __future__ import annotations

import pytest

from actionplan.voice import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Signed-in pages add: the session, the user, the header's data links (outcomes nav_flags),
# the header's unread-notification count, and the session's idle expiry pushed forward
# (SAVEPOINT, UPDATE, RELEASE).
SIGNED_IN_OVERHEAD = 7


@pytest.fixture(params=[3, 30], ids=["3-conversations", "30-conversations"])
def conversation(request, public_plan, make_action, commissioner, settings):
    """`n` comments by different people, each with a reply, half of them answered officially."""
    settings.VOICE_COMMENT_RATE_LIMIT = 0
    action = make_action(public_plan)
    for i in range(request.param):
        author = UserFactory(lived_experience="service_user")
        comment = services.comment_create(actor=author, plan=public_plan, body=f"Point {i}", show_badge=True)
        services.comment_create(actor=commissioner, plan=public_plan, parent=comment, body=f"Reply {i}")
        if i % 2 == 0:
            services.response_save(
                actor=commissioner, comment=comment, disposition="accepted", text="Yes", action_changed=action
            )
    return public_plan


def test_the_thread_page_runs_four_queries_for_a_visitor(client, conversation, django_assert_num_queries):
    # 1 the plan with its lead organisation, 2 its partners (for the comment permission),
    # 3 the summary aggregate (comments, answered, median, overdue), 4 every comment with
    # its author, response, responder and changed action.
    with django_assert_num_queries(4):
        response = client.get(f"/plans/{conversation.slug}/comments/")
    assert response.status_code == 200


def test_the_thread_page_runs_a_fixed_number_of_queries_for_a_commenter(
    client_for, conversation, service_user, django_assert_num_queries
):
    client = client_for(service_user)
    # The four above, plus: the user's plan grants, their memberships (roles), their
    # suspension, whether they follow the plan.
    with django_assert_num_queries(4 + 4 + SIGNED_IN_OVERHEAD):
        response = client.get(f"/plans/{conversation.slug}/comments/")
    assert response.status_code == 200


def test_the_you_said_we_did_page_runs_four_queries_for_a_visitor(client, conversation, django_assert_num_queries):
    # 1 the plan, 2 its partners, 3 every published comment with its response, 4 the summary.
    with django_assert_num_queries(4):
        response = client.get(f"/plans/{conversation.slug}/you-said-we-did/")
    assert response.status_code == 200


def test_the_you_said_we_did_page_adds_the_unanswered_list_for_a_manager(
    client_for, conversation, commissioner, django_assert_num_queries
):
    client = client_for(commissioner)
    # The four above, plus the manager's plan grants and the unanswered list.
    with django_assert_num_queries(4 + 2 + SIGNED_IN_OVERHEAD):
        response = client.get(f"/plans/{conversation.slug}/you-said-we-did/")
    assert response.status_code == 200
