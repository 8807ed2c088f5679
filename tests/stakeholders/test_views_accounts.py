"""Sign-up, sign-in, profile, personal API tokens, invitations and password reset."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.utils import timezone

from stakeholders import services
from stakeholders.models import ApiToken, Invitation, Membership, Role, User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


# Sign-up -----------------------------------------------------------------------------

SIGN_UP = {
    "display_name": "Robin",
    "email": "Robin@Example.org",
    "password": "tall-purple-kettle-93",
    "lived_experience": "carer",
    "show_lived_experience": "on",
    "accept_terms": "on",
}


def test_sign_up_creates_the_account_emails_it_and_asks_to_sign_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    assert client.get("/account/sign-up/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/sign-up/", SIGN_UP)

    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/"
    user = User.objects.get(email="robin@example.org")
    assert user.display_name == "Robin"
    assert user.lived_experience == "carer"
    assert user.show_lived_experience is True
    assert user.terms_accepted_at is not None
    assert [m.to for m in mailoutbox] == [["robin@example.org"]]
    assert "is ready" in mailoutbox[0].body
    signed_in = client.post("/account/sign-in/", {"username": SIGN_UP["email"], "password": SIGN_UP["password"]})
    assert signed_in.status_code == 302 and _signed_in_as(client) == user.pk


def test_sign_up_keeps_a_safe_next_link_only(client, client_for):
    response = client.post("/account/sign-up/?next=/organisations/", SIGN_UP)
    assert response["Location"] == "/account/sign-in/?next=%2Forganisations%2F"

    other = client_for()
    response = other.post("/account/sign-up/?next=https://evil.example/", {**SIGN_UP, "email": "x@example.org"})
    assert response["Location"] == "/account/sign-in/"


def test_sign_up_errors_show_the_nhs_error_summary_linking_to_each_field(client):
    response = client.post("/account/sign-up/", {"email": "not-an-email", "password": "short"})

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "<title>Error: " in response.text
    for field in ("display_name", "email", "password", "accept_terms"):
        # The summary links to the field and the field carries that id.
        assert f'href="#id_{field}"' in response.text
        assert f'id="id_{field}"' in response.text
    assert "You must agree to the terms of use" in response.text
    assert not User.objects.exists()


def test_sign_up_answers_the_same_for_an_existing_email_and_emails_its_owner_instead(
    client, client_for, service_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        new = client_for().post("/account/sign-up/", SIGN_UP, follow=True)
        taken = client.post("/account/sign-up/", {**SIGN_UP, "email": service_user.email.upper()}, follow=True)

    assert taken.redirect_chain == new.redirect_chain == [("/account/sign-in/", 302)]
    assert _without_per_response_tokens(taken.text) == _without_per_response_tokens(new.text)
    assert "already exists" not in taken.text
    assert User.objects.filter(email__iexact=service_user.email).count() == 1
    assert not User.objects.get(email__iexact=service_user.email).check_password(SIGN_UP["password"])
    owner_mail = [m for m in mailoutbox if m.to == [service_user.email]]
    assert len(owner_mail) == 1 and "already have an account" in owner_mail[0].body


def _without_per_response_tokens(html: str) -> str:
    """The page without its CSRF token and CSP nonces, which differ between any two responses."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'nonce="[^"]*"', "", html)


def test_a_signed_in_visitor_is_sent_from_sign_up_to_their_profile(client_for, service_user):
    response = client_for(service_user).get("/account/sign-up/")
    assert response.status_code == 302
    assert response["Location"] == "/account/profile/"


# Sign-in and sign-out ----------------------------------------------------------------


def test_sign_in_is_case_insensitive_on_email(client, service_user):
    response = client.post("/account/sign-in/", {"username": service_user.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    # Where a service user's work is: the plans (issue 19); tests/actionplan/test_sign_in_landing.py has each role.
    assert response["Location"] == "/plans/"
    assert _signed_in_as(client) == service_user.pk


def test_a_wrong_password_shows_the_error_summary(client, service_user):
    response = client.post("/account/sign-in/", {"username": service_user.email, "password": "wrong"})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Enter a correct email address and password" in response.text
    assert _signed_in_as(client) is None


def test_sign_out_asks_first_then_signs_out_on_post(client_for, service_user):
    client = client_for(service_user)
    assert client.get("/account/sign-out/").status_code == 200
    assert _signed_in_as(client) == service_user.pk

    response = client.post("/account/sign-out/confirm/")

    assert response.status_code == 302
    assert _signed_in_as(client) is None


def test_sign_out_without_being_signed_in_goes_home(client):
    response = client.get("/account/sign-out/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_sign_in_page_sends_a_signed_in_visitor_on(client_for, service_user):
    response = client_for(service_user).get("/account/sign-in/")
    assert response.status_code == 302
    assert response["Location"] == "/plans/"


# Profile -----------------------------------------------------------------------------


def test_the_profile_needs_sign_in(client):
    response = client.get("/account/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/account/profile/"


def test_the_profile_lists_my_organisations(client_for, commissioner, commissioning_org):
    response = client_for(commissioner).get("/account/profile/")
    assert response.status_code == 200
    assert commissioning_org.name in response.text


def test_i_edit_my_profile(client_for, service_user):
    response = client_for(service_user).post(
        "/account/profile/", {"display_name": "Sky Blue", "lived_experience": "carer", "show_lived_experience": ""}
    )
    assert response.status_code == 302
    service_user.refresh_from_db()
    assert service_user.display_name == "Sky Blue"
    assert service_user.lived_experience == "carer"
    assert service_user.show_lived_experience is False


def test_a_blank_display_name_is_refused_with_the_error_summary(client_for, service_user):
    response = client_for(service_user).post("/account/profile/", {"display_name": ""})
    assert response.status_code == 200
    assert 'href="#id_display_name"' in response.text
    service_user.refresh_from_db()
    assert service_user.display_name == "Sky"


# Personal API tokens -----------------------------------------------------------------


def test_a_new_token_is_shown_once_and_never_cached(client_for, service_user):
    client = client_for(service_user)

    response = client.post("/account/tokens/", {"name": "upload script", "days": 30})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plain = re.search(r'id="new-token">(lmh_[0-9a-f]+)<', response.text).group(1)
    token = ApiToken.objects.get(user=service_user)
    assert token.name == "upload script"
    assert plain.startswith(token.token_key)
    # The profile lists the token by its first characters only.
    profile = client.get("/account/profile/")
    assert token.token_key in profile.text
    assert plain not in profile.text


def test_a_token_with_too_long_a_life_is_refused(client_for, service_user, settings):
    response = client_for(service_user).post(
        "/account/tokens/", {"name": "forever", "days": settings.API_TOKEN_MAX_DAYS + 1}
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert 'href="#id_days"' in response.text
    assert not ApiToken.objects.exists()


def test_creating_a_token_is_a_post_and_needs_sign_in(client, client_for, service_user):
    assert client_for(service_user).get("/account/tokens/").status_code == 405
    response = client.post("/account/tokens/", {"name": "x", "days": 1})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
    assert not ApiToken.objects.exists()


def test_i_revoke_my_token(client_for, service_user):
    token, _ = services.api_token_create(actor=service_user, name="old script", days=10)
    response = client_for(service_user).post(f"/account/tokens/{token.token_key}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == "/account/profile/"
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_someone_elses_token_is_not_found(client_for, service_user, outsider):
    token, _ = services.api_token_create(actor=service_user, name="theirs", days=10)
    assert client_for(outsider).post(f"/account/tokens/{token.token_key}/revoke/").status_code == 404
    assert client_for(outsider).post("/account/tokens/lmh_nonsense/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_a_token_needs_sign_in(client, service_user):
    token, _ = services.api_token_create(actor=service_user, name="mine", days=10)
    response = client.post(f"/account/tokens/{token.token_key}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.filter(pk=token.pk).exists()


# Invitations -------------------------------------------------------------------------


@pytest.fixture
def invitation(org_admin, commissioning_org):
    return services.invitation_create(
        actor=org_admin, organisation=commissioning_org, email="invitee@example.org", role=Role.CLINICIAN
    )


@pytest.fixture
def invitation_url(invitation):
    return f"/invitations/{services.invitation_signed_token(invitation)}/"


def test_an_anonymous_visitor_is_asked_to_sign_in_or_sign_up(client, invitation_url, commissioning_org):
    response = client.get(invitation_url)
    assert response.status_code == 200
    assert f"Join {commissioning_org.name}" in response.text
    next_param = quote(invitation_url, safe="/")
    assert f"/account/sign-in/?next={next_param}" in response.text
    assert f"/account/sign-up/?next={next_param}" in response.text


def test_signing_in_from_the_invitation_comes_back_to_it(client, invitation_url):
    UserFactory(email="invitee@example.org")
    response = client.post(
        f"/account/sign-in/?next={quote(invitation_url, safe='/')}",
        {"username": "invitee@example.org", "password": TEST_PASSWORD, "next": invitation_url},
    )
    assert response.status_code == 302
    assert response["Location"] == invitation_url


def test_the_invited_person_accepts(client_for, invitation, invitation_url, commissioning_org):
    invitee = UserFactory(email="invitee@example.org")
    client = client_for(invitee)
    assert client.get(invitation_url).status_code == 200

    response = client.post(invitation_url)

    assert response.status_code == 302
    assert response["Location"] == commissioning_org.get_absolute_url()
    assert Membership.objects.filter(user=invitee, organisation=commissioning_org, role=Role.CLINICIAN).exists()
    # Used once: the same link now says it is no longer valid.
    assert client.get(invitation_url).status_code == 410


def test_someone_signed_in_with_another_email_is_told_which_address_to_use(client_for, service_user, invitation_url):
    response = client_for(service_user).post(invitation_url)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "This invitation was sent to invitee@example.org" in response.text
    assert not Membership.objects.filter(user=service_user).exists()


def test_a_revoked_invitation_is_gone(client_for, org_admin, invitation, invitation_url):
    services.invitation_revoke(actor=org_admin, invitation=invitation)
    response = client_for(UserFactory(email="invitee@example.org")).get(invitation_url)
    assert response.status_code == 410
    assert "This invitation is not valid" in response.text


def test_an_expired_invitation_is_gone(client_for, invitation, invitation_url):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = client_for(UserFactory(email="invitee@example.org"))
    assert client.get(invitation_url).status_code == 410
    assert client.post(invitation_url).status_code == 410
    assert not Membership.objects.filter(user__email="invitee@example.org").exists()


def test_a_garbled_invitation_link_is_not_found(client, invitation_url):
    assert client.get(invitation_url.rstrip("/") + "x/").status_code == 404
    assert client.get("/invitations/garbage/").status_code == 404


# Password reset ----------------------------------------------------------------------


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def test_password_reset_emails_a_link_that_sets_a_new_password(client, service_user, outbox):
    response = client.post("/account/password-reset/", {"email": service_user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == "/account/password-reset/sent/"
    assert client.get(response["Location"]).status_code == 200

    assert len(outbox) == 1
    assert outbox[0].to == [service_user.email]
    link = re.search(r"https?://testserver(/account/reset/[^/\s]+/[^/\s]+/)", outbox[0].body).group(1)

    # Django swaps the token in the link for a session-held one, then shows the form.
    form_url = client.get(link)["Location"]
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, {"new_password1": "fresh-quiet-river-71", "new_password2": "fresh-quiet-river-71"})
    assert response.status_code == 302
    assert response["Location"] == "/account/reset/done/"
    service_user.refresh_from_db()
    assert service_user.check_password("fresh-quiet-river-71")


def test_the_password_reset_email_is_plain_text_not_html_escaped(client, outbox):
    UserFactory(email="o'neil&co@example.org")
    client.post("/account/password-reset/", {"email": "o'neil&co@example.org"})
    assert "(o'neil&co@example.org)" in outbox[0].body
    assert "&#39;" not in outbox[0].body
    assert "&amp;" not in outbox[0].body


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, outbox):
    response = client.post("/account/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/account/password-reset/sent/"
    assert outbox == []


def test_password_change_needs_the_old_password(client_for, service_user):
    client = client_for(service_user)
    assert client.get("/account/password/").status_code == 200
    response = client.post(
        "/account/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "green-window-cactus-8",
            "new_password2": "green-window-cactus-8",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/password/done/"
    assert client.get("/account/password/done/").status_code == 200
    service_user.refresh_from_db()
    assert service_user.check_password("green-window-cactus-8")
    # Changing the password keeps this session signed in.
    assert _signed_in_as(client) == service_user.pk


def test_password_change_needs_sign_in(client):
    response = client.get("/account/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
