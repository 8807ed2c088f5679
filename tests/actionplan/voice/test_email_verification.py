"""A sign-up confirms its email address before it can comment or follow (issue 19, "Signing up safely")."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from stakeholders import services
from stakeholders.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "display_name": "Robin",
    "email": "robin@example.org",
    "password": "tall-purple-kettle-93",
    "lived_experience": "carer",
    "show_lived_experience": "on",
    "accept_terms": "on",
}


def _link(message) -> str:
    return re.search(r"https?://\S+(/account/confirm-email/\S+/)", message.body).group(1)


def test_a_new_account_confirms_its_address_before_commenting_or_following(
    client, mailoutbox, django_capture_on_commit_callbacks, public_plan
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/sign-up/", SIGN_UP)
    user = User.objects.get(email="robin@example.org")
    assert user.email_verified_at is None
    link = _link(mailoutbox[0])
    client.post("/account/sign-in/", {"username": SIGN_UP["email"], "password": SIGN_UP["password"]})
    thread = f"/plans/{public_plan.slug}/comments/"

    page = client.get(thread).content.decode()
    assert "Confirm your email address" in page and "Send the link again" in page
    assert "Publish comment" not in page and "Follow this plan" not in page
    assert client.post(thread, {"body": "More crisis beds, please."}).status_code == 403
    assert client.post(f"/plans/{public_plan.slug}/follow/", {"follow": "yes"}).status_code == 403
    assert client.get("/account/profile/").content.decode().count("Confirm your email address") == 1

    response = client.get(link)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert "Publish comment" in client.get(thread).content.decode()
    assert client.post(thread, {"body": "More crisis beds, please."}).status_code == 302
    assert client.post(f"/plans/{public_plan.slug}/follow/", {"follow": "yes"}).status_code == 302


def test_an_altered_or_expired_link_is_refused_and_a_new_one_can_be_sent(
    client_for, mailoutbox, django_capture_on_commit_callbacks, settings
):
    user = UserFactory(email_verified_at=None)
    token = services.email_verify_token(user)
    client = client_for(user)
    altered = client.get(f"/account/confirm-email/{token[:-2]}xx/")
    assert altered.status_code == 400 and "not valid" in altered.content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(days=settings.EMAIL_VERIFY_DAYS, minutes=1)):
        expired = client.get(f"/account/confirm-email/{token}/")
    assert expired.status_code == 400 and "expired" in expired.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None

    client = client_for(user)  # a new session: the travel in time ended the old one
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/account/confirm-email/resend/").status_code == 302
        client.post("/account/confirm-email/resend/")  # a second press within the minute sends nothing
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]
    assert client.get(_link(mailoutbox[0])).status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_a_link_sent_to_an_old_address_does_not_confirm_the_new_one(client):
    user = UserFactory(email_verified_at=None, email="old@example.org")
    token = services.email_verify_token(user)
    user.email = "new@example.org"
    user.save()
    assert client.get(f"/account/confirm-email/{token}/").status_code == 400
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_accounts_an_organisation_made_are_confirmed_and_the_api_refuses_the_unconfirmed(client_for, public_plan):
    assert UserFactory().email_verified  # made by an admin or an invitation: someone vouched for the address
    unconfirmed = UserFactory(email_verified_at=None)
    response = client_for(unconfirmed).post(
        "/api/v1/follows/", {"plan": public_plan.slug}, content_type="application/json"
    )
    assert response.status_code == 403
