"""A new password, a deactivation or a lockout stops the person's API tokens (issue 25, part 4)."""

from __future__ import annotations

import pytest
from django.test import Client

from stakeholders import services
from stakeholders.models import ApiToken
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _me(plain: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {plain}").get("/api/v1/me/").status_code


@pytest.fixture
def person_with_token():
    user = UserFactory()
    _, plain = services.api_token_create(actor=user, name="script", days=7)
    assert _me(plain) == 200
    return user, plain


def test_changing_the_password_revokes_the_tokens(client_for, person_with_token):
    user, plain = person_with_token
    response = client_for(user).post(
        "/account/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "a-new-long-phrase-7", "new_password2": "a-new-long-phrase-7"},
    )
    assert response.status_code == 302, response.content
    assert _me(plain) == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_resetting_the_password_revokes_the_tokens(person_with_token):
    user, plain = person_with_token
    user.set_password("a-reset-long-phrase-8")  # what the reset form's save does
    user.save()
    assert _me(plain) == 401


def test_signing_in_with_an_old_hash_upgrade_keeps_the_tokens(person_with_token):
    user, plain = person_with_token
    assert user.check_password(TEST_PASSWORD)
    assert _me(plain) == 200


def test_deactivating_the_account_refuses_and_revokes_the_tokens(person_with_token):
    user, plain = person_with_token
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _me(plain) == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_lockout_refuses_the_tokens_until_it_ends(client, person_with_token, settings):
    user, plain = person_with_token
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/account/sign-in/", {"username": user.email, "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    assert _me(plain) == 401
    settings.AXES_COOLOFF_TIME = settings.AXES_COOLOFF_TIME * 0
    assert _me(plain) == 200
