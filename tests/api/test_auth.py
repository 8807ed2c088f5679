"""Who am I to the API: a browser session or a personal token (hashed, expiring, revocable)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from stakeholders import services
from stakeholders.models import ApiToken
from tests.api.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _token_client(plain: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {plain}")


def test_me_with_a_session(client_for, commissioner, commissioning_org):
    response = client_for(commissioner).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "email": commissioner.email,
        "display_name": "Casey Commissioner",
        "lived_experience": "",
        "show_lived_experience": False,
        "is_staff": False,
        "memberships": [
            {
                "organisation": commissioning_org.slug,
                "organisation_name": commissioning_org.name,
                "role": "commissioner",
            }
        ],
    }


def test_me_with_a_personal_token(commissioner):
    _, plain = services.api_token_create(actor=commissioner, name="script", days=7)
    response = _token_client(plain).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == commissioner.email


def test_a_token_records_when_it_was_last_used(commissioner):
    token, plain = services.api_token_create(actor=commissioner, name="script", days=7)
    assert token.last_used_at is None
    _token_client(plain).get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_acts_with_its_owners_permissions(org_admin, commissioning_org, outsider, other_org):
    _, plain = services.api_token_create(actor=org_admin, name="script", days=7)
    client = _token_client(plain)
    own = client.patch(
        f"/api/v1/organisations/{commissioning_org.slug}/",
        {"description": "By script"},
        content_type="application/json",
    )
    assert own.status_code == 200
    theirs = client.patch(
        f"/api/v1/organisations/{other_org.slug}/", {"description": "By script"}, content_type="application/json"
    )
    assert_problem(theirs, 403)


def test_token_writes_need_no_csrf_token(org_admin, commissioning_org):
    # Scripts do not have a CSRF cookie; a token is not ambient authority, so none is asked for.
    _, plain = services.api_token_create(actor=org_admin, name="script", days=7)
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {plain}")
    response = client.patch(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"description": "x"}, content_type="application/json"
    )
    assert response.status_code == 200


def test_session_writes_need_the_csrf_token(org_admin, commissioning_org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.patch(
        f"/api/v1/organisations/{commissioning_org.slug}/", {"description": "x"}, content_type="application/json"
    )
    body = assert_problem(response, 403)
    assert "CSRF" in body["detail"]


def test_an_expired_token_is_unauthenticated(commissioner):
    token, plain = services.api_token_create(actor=commissioner, name="script", days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = _token_client(plain).get("/api/v1/me/")
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert body["title"] == "Not signed in"
    # knox removes an expired token when it is presented.
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_an_expired_token_fails_even_on_public_endpoints(commissioner):
    # A script with a dead token should hear about it, not silently get anonymous results.
    _, plain = services.api_token_create(actor=commissioner, name="script", days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert_problem(_token_client(plain).get("/api/v1/areas/"), 401)


def test_a_revoked_token_is_unauthenticated(commissioner):
    token, plain = services.api_token_create(actor=commissioner, name="script", days=7)
    services.api_token_revoke(actor=commissioner, token=token)
    assert_problem(_token_client(plain).get("/api/v1/me/"), 401)


@pytest.mark.parametrize("header", ["Token lmh_0000000000000000", "Token", "Token a b", "Token lmh_zz"])
def test_a_garbled_token_is_unauthenticated(header):
    assert_problem(Client(HTTP_AUTHORIZATION=header).get("/api/v1/me/"), 401)


def test_a_token_of_a_deactivated_user_is_unauthenticated(commissioner):
    _, plain = services.api_token_create(actor=commissioner, name="script", days=7)
    commissioner.is_active = False
    commissioner.save(update_fields=["is_active"])
    assert_problem(_token_client(plain).get("/api/v1/me/"), 401)


def test_me_needs_authentication(client):
    response = client.get("/api/v1/me/")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
