"""The voice API: the same permissions as the pages (allowed, 401/403, 404) and the same services."""

from __future__ import annotations

import pytest

from actionplan.models import Comment, CommentStatus, Flag, Follow, Notification, Response
from actionplan.voice import services
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_a_service_user_comments_through_the_api(client_for, public_plan, service_user):
    response = post(
        client_for(service_user),
        "/api/v1/comments/",
        {"plan": public_plan.slug, "body": "Try *this*", "lived_experience": True},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["body_html"] == "<p>Try <em>this</em></p>\n"
    assert body["lived_experience"] is True and body["author"] == "Sky" and body["status"] == "visible"


def test_commenting_needs_sign_in_and_permission_and_a_visible_plan(
    client_for, public_plan, partners_plan, provider, outsider
):
    assert_problem(post(client_for(None), "/api/v1/comments/", {"plan": public_plan.slug, "body": "x"}), 401)
    assert_problem(post(client_for(provider), "/api/v1/comments/", {"plan": public_plan.slug, "body": "x"}), 403)
    assert_problem(post(client_for(outsider), "/api/v1/comments/", {"plan": partners_plan.slug, "body": "x"}), 404)
    assert not Comment.objects.exists()


def test_the_api_rate_limit_is_a_429_with_the_same_message(client_for, public_plan, service_user, settings):
    settings.VOICE_COMMENT_RATE_LIMIT = 1
    client = client_for(service_user)
    assert post(client, "/api/v1/comments/", {"plan": public_plan.slug, "body": "one"}).status_code == 201
    body = assert_problem(post(client, "/api/v1/comments/", {"plan": public_plan.slug, "body": "two"}), 429)
    assert "You have posted 1 comments in the last hour" in body["detail"]


def test_comments_on_a_partners_plan_are_404_to_strangers(client_for, partners_plan, commissioner, outsider):
    comment = services.comment_create(actor=commissioner, plan=partners_plan, body="Internal")
    assert client_for(commissioner).get(f"/api/v1/comments/{comment.pk}/").status_code == 200
    assert_problem(client_for(outsider).get(f"/api/v1/comments/{comment.pk}/"), 404)
    assert client_for(outsider).get("/api/v1/comments/").json()["count"] == 0


def test_held_comments_are_404_to_others_and_visible_to_their_author(client_for, make_comment, service_user, carer):
    comment = make_comment(body="I want to end my life")
    assert comment.status == CommentStatus.HELD
    assert client_for(service_user).get(f"/api/v1/comments/{comment.pk}/").status_code == 200
    assert_problem(client_for(carer).get(f"/api/v1/comments/{comment.pk}/"), 404)


def test_only_the_author_edits_and_deletes_through_the_api(client_for, make_comment, service_user, carer):
    comment = make_comment()
    url = f"/api/v1/comments/{comment.pk}/"
    assert_problem(client_for(carer).patch(url, {"body": "hijack"}, content_type="application/json"), 403)
    assert_problem(client_for(carer).delete(url), 403)
    response = client_for(service_user).patch(url, {"body": "better"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["body"] == "better"
    assert client_for(service_user).delete(url).status_code == 204
    assert client_for(None).get(url).json()["deleted"] is True


def test_responses_through_the_api(client_for, make_comment, commissioner, service_user, make_action, public_plan):
    comment = make_comment()
    action = make_action(public_plan)
    data = {"comment": comment.pk, "disposition": "accepted", "text": "Yes", "action_changed": action.pk}
    assert_problem(post(client_for(service_user), "/api/v1/responses/", data), 403)
    bad = assert_problem(post(client_for(commissioner), "/api/v1/responses/", {**data, "action_changed": None}), 400)
    assert "action_changed" in {e["field"] for e in bad["errors"]}
    assert post(client_for(commissioner), "/api/v1/responses/", data).status_code == 201
    assert Response.objects.get().action_changed == action
    listed = client_for(None).get(f"/api/v1/responses/?plan={public_plan.slug}").json()
    assert listed["count"] == 1 and listed["results"][0]["disposition"] == "accepted"
    assert client_for(None).get(f"/api/v1/comments/{comment.pk}/").json()["response"]["text"] == "Yes"


def test_responses_to_a_hidden_plan_are_404(client_for, partners_plan, commissioner, outsider):
    comment = services.comment_create(actor=commissioner, plan=partners_plan, body="Internal")
    data = {"comment": comment.pk, "disposition": "under_review", "text": "?"}
    assert_problem(post(client_for(outsider), "/api/v1/responses/", data), 404)


def test_flags_through_the_api(client_for, make_comment, service_user, carer, partners_plan, commissioner, outsider):
    comment = make_comment()
    assert_problem(post(client_for(None), "/api/v1/flags/", {"comment": comment.pk, "reason": "x"}), 401)
    assert_problem(post(client_for(service_user), "/api/v1/flags/", {"comment": comment.pk, "reason": "x"}), 403)
    assert post(client_for(carer), "/api/v1/flags/", {"comment": comment.pk, "reason": "Rude"}).status_code == 201
    hidden = services.comment_create(actor=commissioner, plan=partners_plan, body="Internal")
    assert_problem(post(client_for(outsider), "/api/v1/flags/", {"comment": hidden.pk, "reason": "x"}), 404)
    assert Flag.objects.count() == 1


def test_notifications_are_private_and_can_be_marked_read(client_for, make_comment, carer, service_user, public_plan):
    top = make_comment()
    services.comment_create(actor=carer, plan=public_plan, parent=top, body="Me too")
    notification = Notification.objects.get(recipient=service_user)  # the reply (the plan's answerers hear of both)
    assert_problem(client_for(None).get("/api/v1/notifications/"), 401)
    assert_problem(client_for(carer).get(f"/api/v1/notifications/{notification.pk}/"), 404)
    assert_problem(client_for(carer).post(f"/api/v1/notifications/{notification.pk}/read/"), 404)
    client = client_for(service_user)
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 1
    assert client.post(f"/api/v1/notifications/{notification.pk}/read/").json()["read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def test_follows_through_the_api(client_for, public_plan, partners_plan, service_user, outsider):
    client = client_for(service_user)
    response = post(client, "/api/v1/follows/", {"plan": public_plan.slug})
    assert response.status_code == 201
    assert_problem(post(client_for(outsider), "/api/v1/follows/", {"plan": partners_plan.slug}), 404)
    follow_id = response.json()["id"]
    assert_problem(client_for(outsider).delete(f"/api/v1/follows/{follow_id}/"), 404)
    assert client.delete(f"/api/v1/follows/{follow_id}/").status_code == 204
    assert not Follow.objects.exists()


@pytest.mark.parametrize("n", [2, 20])
def test_the_comment_list_runs_a_fixed_number_of_queries(
    client, public_plan, commissioner, settings, django_assert_num_queries, n
):
    from tests.factories import UserFactory

    settings.VOICE_COMMENT_RATE_LIMIT = 0
    for i in range(n):
        comment = services.comment_create(
            actor=UserFactory(lived_experience="carer"), plan=public_plan, body=f"Point {i}"
        )
        services.response_save(actor=commissioner, comment=comment, disposition="under_review", text="Looking")
    # 1 COUNT for the pager, 2 the page of comments with author, plan, action, response and responder.
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/comments/?plan={public_plan.slug}")
    assert response.json()["count"] == n


@pytest.mark.parametrize("n", [2, 20])
def test_the_response_list_runs_a_fixed_number_of_queries(
    client, public_plan, commissioner, settings, django_assert_num_queries, n
):
    from tests.factories import UserFactory

    settings.VOICE_COMMENT_RATE_LIMIT = 0
    for i in range(n):
        comment = services.comment_create(actor=UserFactory(lived_experience="carer"), plan=public_plan, body=f"P{i}")
        services.response_save(actor=commissioner, comment=comment, disposition="under_review", text="Looking")
    # 1 COUNT for the pager, 2 the page of responses with comment, author and changed action.
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/responses/?plan={public_plan.slug}")
    assert response.json()["count"] == n


def test_a_comment_on_an_action_of_another_plan_answers_as_for_a_missing_action(
    client_for, public_plan, partners_plan, make_action, service_user
):
    hidden = make_action(partners_plan, title="Private action")

    def refused(field: str, value: int) -> str:
        body = {"plan": public_plan.slug, "body": "Hello", field: value}
        problem = assert_problem(post(client_for(service_user), "/api/v1/comments/", body), 400)
        return problem["errors"][0]["message"].replace(str(value), "ID")

    assert refused("action", hidden.pk) == refused("action", 999_999)
    private_comment = services.comment_create(actor=partners_plan.created_by, plan=partners_plan, body="Internal")
    assert refused("parent", private_comment.pk) == refused("parent", 999_999)
    assert not Comment.objects.filter(author=service_user).exists()
