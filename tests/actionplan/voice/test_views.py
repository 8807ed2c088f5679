"""The voice pages: who may see and do what (allowed, 403, 404), held comments, notifications, unsubscribe."""

from __future__ import annotations

import pytest

from actionplan.models import Comment, CommentStatus, Notification, NotificationKind, NotificationPreference
from actionplan.voice import services

pytestmark = pytest.mark.django_db


def test_anyone_reads_the_comments_on_a_public_plan(client_for, public_plan, make_comment):
    make_comment(body="We need **more** crisis beds.")
    response = client_for(None).get(f"/plans/{public_plan.slug}/comments/")
    assert response.status_code == 200
    assert "<strong>more</strong>" in response.content.decode()
    assert "Sign in" in response.content.decode()


def test_a_stranger_gets_404_for_the_comments_on_a_partners_only_plan(client_for, partners_plan, outsider):
    assert client_for(outsider).get(f"/plans/{partners_plan.slug}/comments/").status_code == 404
    assert client_for(None).get(f"/plans/{partners_plan.slug}/you-said-we-did/").status_code == 404


def test_a_service_user_publishes_a_comment_from_the_form(client_for, public_plan, service_user):
    response = client_for(service_user).post(
        f"/plans/{public_plan.slug}/comments/", {"body": "Open the café at weekends.", "show_badge": "on"}
    )
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.author == service_user and comment.show_badge and comment.status == CommentStatus.VISIBLE
    page = client_for(None).get(response["Location"]).content.decode()
    assert "Open the café at weekends." in page and "Lived experience" in page


def test_someone_without_comment_permission_gets_403_on_posting(client_for, public_plan, provider):
    # A provider outside the plan's organisations, with no lived experience and no clinician role.
    response = client_for(provider).post(f"/plans/{public_plan.slug}/comments/", {"body": "Hello"})
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_an_empty_comment_gets_an_error_summary_and_nothing_is_saved(client_for, public_plan, service_user):
    response = client_for(service_user).post(f"/plans/{public_plan.slug}/comments/", {"body": "  "})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not Comment.objects.exists()


def test_the_rate_limit_says_so_clearly_and_keeps_the_text(client_for, public_plan, service_user, settings):
    settings.VOICE_COMMENT_RATE_LIMIT = 2
    client = client_for(service_user)
    for i in range(2):
        assert client.post(f"/plans/{public_plan.slug}/comments/", {"body": f"Point {i}"}).status_code == 302
    response = client.post(f"/plans/{public_plan.slug}/comments/", {"body": "My third point"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "You have posted 2 comments in the last hour" in page
    assert "My third point" in page
    assert Comment.objects.count() == 2


def test_a_comment_mentioning_suicide_is_held_and_the_author_sees_urgent_help_at_once(
    client_for, public_plan, service_user, moderator
):
    response = client_for(service_user).post(
        f"/plans/{public_plan.slug}/comments/", {"body": "Some days I think about suicide."}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "NHS 111 and choose option 2" in page and "116 123" in page
    comment = Comment.objects.get()
    assert comment.status == CommentStatus.HELD
    assert Notification.objects.filter(recipient=moderator, kind=NotificationKind.HELD_COMMENT).exists()
    # Held: not shown to others, shown to its author and the moderator.
    assert "think about suicide" not in client_for(None).get(f"/plans/{public_plan.slug}/comments/").content.decode()
    assert (
        "think about suicide" in client_for(service_user).get(f"/plans/{public_plan.slug}/comments/").content.decode()
    )
    assert "think about suicide" in client_for(moderator).get("/moderation/").content.decode()


def test_replies_go_two_levels_deep(client_for, public_plan, make_comment, carer, service_user):
    top = make_comment()
    client = client_for(carer)
    assert client.get(f"/plans/{public_plan.slug}/comments/{top.pk}/reply/").status_code == 200
    assert client.post(f"/plans/{public_plan.slug}/comments/{top.pk}/reply/", {"body": "Agreed"}).status_code == 302
    reply = Comment.objects.get(parent=top)
    # Replying to the reply takes you to the top of the thread.
    response = client_for(service_user).get(f"/plans/{public_plan.slug}/comments/{reply.pk}/reply/")
    assert response.status_code == 302 and response["Location"].endswith(f"/comments/{top.pk}/reply/")
    assert Notification.objects.filter(recipient=service_user, kind=NotificationKind.REPLY).count() == 1


def test_only_the_author_edits_and_deletes(client_for, public_plan, make_comment, service_user, carer):
    comment = make_comment()
    url = f"/plans/{public_plan.slug}/comments/{comment.pk}"
    assert client_for(carer).get(f"{url}/edit/").status_code == 403
    assert client_for(carer).post(f"{url}/delete/").status_code == 403
    assert client_for(service_user).post(f"{url}/edit/", {"body": "Changed"}).status_code == 302
    assert client_for(service_user).post(f"{url}/delete/").status_code == 302
    comment.refresh_from_db()
    assert comment.is_deleted and comment.body == ""
    page = client_for(None).get(f"/plans/{public_plan.slug}/comments/").content.decode()
    assert "This comment was deleted by its author." in page


def test_editing_is_refused_after_the_window(client_for, public_plan, make_comment, service_user):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    comment = make_comment()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        response = client_for(service_user).post(
            f"/plans/{public_plan.slug}/comments/{comment.pk}/edit/", {"body": "Too late"}
        )
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.body != "Too late"


def test_the_plan_manager_responds_and_the_author_is_notified(
    client_for, public_plan, make_comment, make_action, commissioner, service_user
):
    comment = make_comment()
    action = make_action(public_plan)
    url = f"/plans/{public_plan.slug}/comments/{comment.pk}/respond/"
    assert client_for(service_user).get(url).status_code == 403
    response = client_for(commissioner).post(
        url, {"disposition": "accepted", "text": "We will open at weekends.", "action_changed": action.pk}
    )
    assert response.status_code == 302
    assert Notification.objects.filter(recipient=service_user, kind=NotificationKind.RESPONSE).count() == 1
    page = client_for(None).get(f"/plans/{public_plan.slug}/you-said-we-did/").content.decode()
    assert "We will open at weekends." in page and "Accepted" in page and action.title in page


def test_accepting_without_naming_the_action_is_refused(client_for, public_plan, make_comment, commissioner):
    comment = make_comment()
    response = client_for(commissioner).post(
        f"/plans/{public_plan.slug}/comments/{comment.pk}/respond/", {"disposition": "accepted", "text": "Yes"}
    )
    assert response.status_code == 400
    assert "Choose the action this comment changed." in response.content.decode()


def test_flagging_needs_sign_in_and_three_flags_hold_the_comment(
    client_for, public_plan, make_comment, service_user, carer, provider, commissioner
):
    comment = make_comment()
    url = f"/plans/{public_plan.slug}/comments/{comment.pk}/flag/"
    assert client_for(None).get(url).status_code == 302  # to sign in
    assert client_for(service_user).get(url).status_code == 403  # not your own
    for person in (carer, provider, commissioner):
        assert client_for(person).post(url, {"reason": "Offensive"}).status_code == 302
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HELD


def test_moderation_is_for_moderators_and_every_decision_is_logged(
    client_for, public_plan, make_comment, moderator, commissioner, service_user
):
    comment = make_comment()
    assert client_for(commissioner).get("/moderation/").status_code == 403
    assert client_for(moderator).get("/moderation/").status_code == 200
    response = client_for(moderator).post(f"/moderation/comments/{comment.pk}/", {"decision": "hide", "reason": ""})
    assert response.status_code == 400
    response = client_for(moderator).post(
        f"/moderation/comments/{comment.pk}/", {"decision": "hide", "reason": "Personal details"}
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN
    response = client_for(moderator).post(
        f"/moderation/people/{service_user.pk}/", {"suspend": "suspend", "reason": "Repeated abuse"}
    )
    assert response.status_code == 302
    page = client_for(moderator).get("/moderation/").content.decode()
    assert "Personal details" in page and "Repeated abuse" in page
    assert client_for(service_user).post(f"/plans/{public_plan.slug}/comments/", {"body": "x"}).status_code == 403


def test_notifications_are_listed_counted_in_the_header_and_marked_read(
    client_for, public_plan, make_comment, carer, service_user, outsider
):
    top = make_comment()
    services.comment_create(actor=carer, plan=public_plan, parent=top, body="Me too")
    client = client_for(service_user)
    page = client.get("/notifications/").content.decode()
    assert "Notifications (1 unread)" in page and "Cam Carer replied to your comment" in page
    notification = Notification.objects.get(recipient=service_user)
    assert client_for(outsider).post(f"/notifications/{notification.pk}/read/").status_code == 404
    assert client.post(f"/notifications/{notification.pk}/read/").status_code == 302
    assert "Notifications (1 unread)" not in client.get("/notifications/").content.decode()


def test_unsubscribe_works_without_signing_in(client_for, service_user):
    token = services.unsubscribe_token(service_user)
    anonymous = client_for(None)
    assert anonymous.get(f"/unsubscribe/{token}/").status_code == 200
    # One-click: a mail client POSTs without a CSRF token or a session.
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=service_user).email_mode == "off"
    assert anonymous.get(f"/unsubscribe/{token}x/").status_code == 404


def test_following_a_plan_needs_sign_in(client_for, public_plan, service_user):
    assert client_for(None).post(f"/plans/{public_plan.slug}/follow/").status_code == 302
    assert client_for(service_user).post(f"/plans/{public_plan.slug}/follow/", {"follow": "yes"}).status_code == 302
    assert public_plan.follows.filter(user=service_user).exists()


def test_the_plan_page_panel_counts_comments_waiting_too_long(public_plan, make_comment, rf):
    import datetime as dt

    from django.template.loader import render_to_string
    from django.utils import timezone

    old = make_comment()
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=15))
    make_comment(body="A fresh one")
    html = render_to_string("actionplan/voice/_plan_panel.html", {"plan": public_plan}, request=rf.get("/"))
    assert "2 published comments" in html and "1 waiting more than 14 days" in html
    assert f"/plans/{public_plan.slug}/you-said-we-did/" in html


@pytest.mark.parametrize("page", ["reply", "edit", "delete", "flag", "respond"])
def test_every_comment_page_is_404_to_a_stranger_to_a_partners_only_plan(
    client_for, partners_plan, commissioner, outsider, page
):
    comment = services.comment_create(actor=commissioner, plan=partners_plan, body="Internal")
    url = f"/plans/{partners_plan.slug}/comments/{comment.pk}/{page}/"
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url, {"body": "x", "reason": "x"}).status_code == 404
    # The plan's manager may reply, edit, delete and respond; nobody flags their own comment.
    assert client_for(commissioner).get(url).status_code == (403 if page == "flag" else 200)


def test_a_comment_id_from_another_plan_is_404(client_for, public_plan, make_plan, make_comment, service_user):
    other = make_plan(title="Another plan")
    comment = make_comment(plan=other)
    assert client_for(service_user).get(f"/plans/{public_plan.slug}/comments/{comment.pk}/edit/").status_code == 404


def test_an_action_of_another_plan_is_404(client_for, public_plan, make_plan, make_action):
    action = make_action(make_plan(title="Another plan"))
    assert client_for(None).get(f"/plans/{public_plan.slug}/actions/{action.pk}/comments/").status_code == 404


def test_comments_on_an_action_stay_on_that_action(client_for, public_plan, make_action, service_user):
    action = make_action(public_plan)
    url = f"/plans/{public_plan.slug}/actions/{action.pk}/comments/"
    assert client_for(service_user).post(url, {"body": "About the café"}).status_code == 302
    assert Comment.objects.get().action == action
    assert "About the café" in client_for(None).get(url).content.decode()
    assert "About the café" not in client_for(None).get(f"/plans/{public_plan.slug}/comments/").content.decode()


def test_people_choose_a_daily_digest_and_visitors_are_sent_to_sign_in(client_for, service_user):
    assert client_for(None).get("/notifications/settings/").status_code == 302
    client = client_for(service_user)
    assert client.get("/notifications/settings/").status_code == 200
    assert client.post("/notifications/settings/", {"email_mode": "digest"}).status_code == 302
    assert NotificationPreference.objects.get(user=service_user).email_mode == "digest"
    assert client.post("/notifications/settings/", {"email_mode": "hourly"}).status_code == 200
    assert NotificationPreference.objects.get(user=service_user).email_mode == "digest"


def test_moderator_pages_are_403_to_everyone_else(client_for, make_comment, commissioner, service_user):
    comment = make_comment()
    assert client_for(commissioner).get(f"/moderation/comments/{comment.pk}/").status_code == 403
    assert (
        client_for(commissioner)
        .post(f"/moderation/people/{service_user.pk}/", {"suspend": "suspend", "reason": "x"})
        .status_code
        == 403
    )
    assert client_for(None).get("/moderation/").status_code == 302


def test_a_stale_response_is_refused_and_shows_what_is_there_now(
    client_for, public_plan, make_comment, commissioner, org_admin
):
    # Two people may respond: the manager and a colleague granted respond.
    from actionplan import permissions as plan_permissions
    from actionplan import services as plan_services
    from actionplan.models import Response

    plan_services.plan_set_grant(actor=commissioner, plan=public_plan, level=plan_permissions.RESPOND, user=org_admin)
    comment = make_comment()
    url = f"/plans/{public_plan.slug}/comments/{comment.pk}/respond/"
    first, second = client_for(commissioner), client_for(org_admin)
    assert 'name="based_on" value=""' in first.get(url).content.decode()
    assert second.post(url, {"disposition": "under_review", "text": "Looking", "based_on": ""}).status_code == 302
    # The first writer still believes there is no response.
    response = first.post(url, {"disposition": "not_accepted", "text": "No money", "based_on": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone else answered this comment while you were writing" in page
    assert "Looking" in page and "No money" in page
    assert Response.objects.get().text == "Looking"
    # Resubmitting from the refreshed form, based on what is there now, succeeds.
    based_on = Response.objects.get().updated_at.isoformat()
    assert f'value="{based_on}"' in page
    again = first.post(url, {"disposition": "not_accepted", "text": "No money", "based_on": based_on})
    assert again.status_code == 302
    assert Response.objects.get().text == "No money"


def test_the_respond_link_names_the_comment_by_its_author_not_its_id(
    client_for, public_plan, make_comment, commissioner
):
    comment = make_comment()
    html = client_for(commissioner).get(f"/plans/{public_plan.slug}/comments/").content.decode()
    assert f"to the comment by {comment.author.display_name}," in html
    assert f"to comment {comment.pk}<" not in html


def test_a_response_that_did_not_accept_the_comment_shows_no_action_changed(
    client_for, public_plan, make_comment, make_action, commissioner
):
    from actionplan.models.voice import Response

    comment = make_comment()
    action = make_action(public_plan, title="Weekend crisis café")
    # A row from before the service's rule (or written around it): under review, yet naming an action.
    Response.objects.create(
        comment=comment,
        author=commissioner,
        disposition="under_review",
        text="We are looking.",
        text_html="<p>We are looking.</p>",
        action_changed=action,
    )
    for path in (f"/plans/{public_plan.slug}/comments/", f"/plans/{public_plan.slug}/you-said-we-did/"):
        html = client_for(None).get(path).content.decode()
        assert "We are looking." in html, path
        assert "Action changed" not in html and "Changed: " not in html, path


def test_every_comment_form_says_where_to_get_urgent_help(client_for, public_plan, make_comment, service_user):
    """Before anyone writes, not only after a comment is held (issue 19)."""
    comment = make_comment()
    client = client_for(service_user)
    base = f"/plans/{public_plan.slug}/comments"
    for url in (f"{base}/", f"{base}/{comment.pk}/reply/", f"{base}/{comment.pk}/edit/"):
        body = client.get(url).content.decode()
        assert "NHS 111 and choose option 2" in body and "116 123" in body and "999" in body, url
        assert "not by a crisis team" in body, url
