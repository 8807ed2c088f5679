"""Pages make no request the Content Security Policy refuses, and nothing leaves the portal's host.

The shared `context` fixture bypasses the CSP (so tests can inject axe-core); these tests open
their own context that enforces it, as a visitor's browser does, and listen to the console.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAGES = ["/", "/plans/", "/accessibility/", "/account/sign-in/"]


def test_public_pages_log_no_csp_violation_and_ask_no_other_host(browser: Browser, live_server: LiveServer):
    from tests.e2e.conftest import _PlaywrightLoop

    _PlaywrightLoop.enter()
    try:
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        context.set_default_timeout(15_000)
        elsewhere: list[str] = []

        def refuse(route):  # type: ignore[no-untyped-def]
            elsewhere.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith(live_server.url), refuse)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        for path in PAGES:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            # Fonts are requested once text needing them is laid out.
            page.evaluate("() => document.fonts.ready.then(() => true)")
        context.close()
    finally:
        _PlaywrightLoop.leave()
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert violations == [], violations
    assert elsewhere == [], elsewhere
