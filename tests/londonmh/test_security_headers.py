"""What a browser receives from the portal in production: the headers and cookies that
protect it (issue 8's security settings). `check --deploy` is tested in test_settings.py;
these look at real responses."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone


@pytest.fixture
def production(settings):
    """The values DEBUG=false gives when no environment variable overrides them."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    return Client(**{"wsgi.url_scheme": "https"})


@pytest.mark.django_db
def test_every_page_says_https_only_no_framing_no_sniffing_and_a_strict_policy(production):
    response = production.get("/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(production):
    response = production.get("/organisations/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_the_session_one_is_out_of_javascripts_reach(
    production, commissioner, password
):
    production.get("/account/sign-in/", secure=True)
    csrf = production.cookies["csrftoken"]
    assert csrf["secure"]
    production.post(
        "/account/sign-in/",
        {"username": commissioner.email, "password": password, "csrfmiddlewaretoken": csrf.value},
        secure=True,
        headers={"Referer": "https://testserver/account/sign-in/"},
    )
    session = production.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"


@pytest.mark.django_db
def test_a_signed_in_session_ends_after_the_idle_time(settings, client_for, commissioner, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = client_for(commissioner)
    assert client.get("/account/profile/").status_code == 200
    time_machine.shift(settings.SESSION_COOKIE_AGE - 60)
    assert client.get("/account/profile/").status_code == 200  # activity renews the session
    time_machine.shift(settings.SESSION_COOKIE_AGE + 60)
    response = client.get("/account/profile/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


@pytest.mark.django_db
def test_a_form_post_without_the_csrf_token_is_refused(commissioner, password):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/sign-in/", {"username": commissioner.email, "password": password})
    assert response.status_code == 403
    assert "sessionid" not in response.cookies
