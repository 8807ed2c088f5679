"""django-axes locks a username out from one address, never a whole address (NHS and council NAT)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TRUST_NAT = "10.20.30.40"
HOME = "192.0.2.7"


def _sign_in(client, email: str, password: str, ip: str):
    return client.post("/account/sign-in/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def _fail_until_locked(client, email: str, settings, ip: str = TRUST_NAT) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, email, "wrong-password", ip)


def test_it_locks_a_username_out_from_one_address_after_the_failure_limit(client, settings):
    user = UserFactory()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _sign_in(client, user.email, "wrong-password", TRUST_NAT)
        assert response.status_code == 200, f"attempt {attempt + 1} should still show the form"

    response = _sign_in(client, user.email, "wrong-password", TRUST_NAT)
    assert response.status_code == 429
    assert "Too many attempts to sign in" in response.text

    # Even the right password is refused now, from that address.
    response = _sign_in(client, user.email, TEST_PASSWORD, TRUST_NAT)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_colleague_behind_the_same_address_can_still_sign_in(client, client_for, settings):
    victim, colleague = UserFactory(), UserFactory()
    _fail_until_locked(client, victim.email, settings)

    other_browser = client_for()
    response = _sign_in(other_browser, colleague.email, TEST_PASSWORD, TRUST_NAT)

    assert response.status_code == 302
    assert int(other_browser.session[SESSION_KEY]) == colleague.pk


def test_the_locked_user_can_still_sign_in_from_another_address(client, client_for, settings):
    user = UserFactory()
    _fail_until_locked(client, user.email, settings)

    elsewhere = client_for()
    response = _sign_in(elsewhere, user.email, TEST_PASSWORD, HOME)

    assert response.status_code == 302
    assert int(elsewhere.session[SESSION_KEY]) == user.pk


def test_changing_the_case_of_the_email_does_not_buy_more_attempts(client, settings):
    # Sign-in is case-insensitive, so Foo@ and foo@ are one account and must share one count.
    user = UserFactory(email="case.test@example.org")
    variants = ["case.test@example.org", "Case.test@example.org", "CASE.test@example.org", "case.TEST@example.org"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, variants[attempt % len(variants)], "wrong-password", TRUST_NAT)

    response = _sign_in(client, "CASE.TEST@EXAMPLE.ORG", TEST_PASSWORD, TRUST_NAT)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    assert user.pk  # the account exists: this was a real lockout, not a wrong address


def test_a_successful_sign_in_resets_the_count(client, client_for, settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, user.email, "wrong-password", TRUST_NAT)
    assert _sign_in(client, user.email, TEST_PASSWORD, TRUST_NAT).status_code == 302

    fresh = client_for()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(fresh, user.email, "wrong-password", TRUST_NAT).status_code == 200


def test_failures_are_recorded_against_the_account(client):
    user = UserFactory()
    _sign_in(client, user.email.upper(), "wrong-password", TRUST_NAT)
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == (user.email, TRUST_NAT)


def test_colleagues_each_mistyping_once_behind_one_address_lock_nobody_out(client, settings):
    colleagues = UserFactory.create_batch(settings.AXES_FAILURE_LIMIT + 1)
    for colleague in colleagues:
        response = _sign_in(client, colleague.email, "wrong-password", TRUST_NAT)
        assert response.status_code == 200
    assert _sign_in(client, colleagues[0].email, TEST_PASSWORD, TRUST_NAT).status_code == 302


def test_the_admin_sign_in_locks_out_the_same_way(client, client_for, settings):
    admin_user, other_admin = UserFactory(is_staff=True), UserFactory(is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": admin_user.email, "password": "wrong"}, REMOTE_ADDR=TRUST_NAT)

    response = client.post(
        "/admin/login/", {"username": admin_user.email, "password": TEST_PASSWORD}, REMOTE_ADDR=TRUST_NAT
    )
    assert response.status_code == 429

    other = client_for()
    response = other.post(
        "/admin/login/", {"username": other_admin.email, "password": TEST_PASSWORD}, REMOTE_ADDR=TRUST_NAT
    )
    assert response.status_code == 302
    assert int(other.session[SESSION_KEY]) == other_admin.pk
