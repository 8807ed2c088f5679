"""A crawl of the demo site as each kind of user: every page reachable by links passes axe-core
(WCAG 2.2 A and AA), answers 200, every form that posts carries a CSRF token, and no page
scrolls sideways on a 320 or 375 CSS pixel wide phone (WCAG 1.4.10 Reflow, which axe cannot
judge: wide tables scroll inside their own focusable region instead).

The crawl follows same-site links from the home page and the user's own pages. To stay
bounded it visits PER_ROUTE page of each URL pattern per role (one organisation's page is
built as every other's) and MAX_PAGES in all per role. Downloads, the admin, the API
and sign-out are not pages to crawl.

Two browsers crawl at once, each taking the next role from a shared queue: while one waits
for the server to render a page, the other runs axe-core, so the crawl takes about half the
time on a two-core machine. The second browser runs in a thread with its own Playwright; it
only speaks HTTP (the sessions it signs in with are made here first).
"""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.urls import Resolver404, resolve
from playwright.sync_api import Page, expect, sync_playwright

from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import User
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, assert_accessible, new_context, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PER_ROUTE = 1
MAX_PAGES = 120
SKIP_PREFIXES = ("/admin/", "/api/", "/static/", "/assets/", "/account/sign-out/", "/health/")
# Downloads, and the Atom feed of the quarterly stories (XML for feed readers, not a page).
SKIP_MARKERS = ("format=csv", "format=json", ".csv", ".json", "/download", "/feed/")
# Signed in, the crawl also starts from the reporting schedules (issue 22): they link on to a
# schedule, its history and, for those who may see it, completeness.
START = ["/", "/account/profile/", "/commissioning/schedules/"]
# Every kind of user once: a carer reaches exactly the pages a service user does (the permissions
# modules ask only whether someone has lived experience, actionplan.permissions), so the crawl does
# not walk those pages twice.
# The roles with the most pages first, so the two browsers finish at about the same time.
ROLES = ["admin", "commissioner", "provider", "moderator", "clinician", "serviceuser", "anonymous"]
# Phone widths the page must fit (issue 19), then the desktop width axe checks the page at.
PHONE_WIDTHS = (320, 375)
DESKTOP = {"width": 1280, "height": 720}


@pytest.fixture
def demo_site(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", quiet=True)


def _session_cookie(live_server, email: str) -> dict[str, str]:
    user = User.objects.get(email=email)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    host = urlsplit(live_server.url).hostname
    return {"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "domain": host, "path": "/"}


def _sign_in(page: Page, live_server, email: str) -> None:
    page.context.add_cookies([_session_cookie(live_server, email)])


def _route(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _crawlable(path: str) -> bool:
    return not path.startswith(SKIP_PREFIXES) and not any(marker in path for marker in SKIP_MARKERS)


def _crawl(page: Page, origin: str, role: str) -> tuple[Counter[str], list[str]]:
    queue = deque(START if role != "anonymous" else START[:1])
    seen: set[str] = set(queue)
    per_route: Counter[str] = Counter()
    problems: list[str] = []
    visited = 0
    while queue and visited < MAX_PAGES:
        path = queue.popleft()
        route = _route(urlsplit(path).path)
        if route is None or per_route[route] >= PER_ROUTE:
            continue
        per_route[route] += 1
        visited += 1
        # Loaded at the narrowest width, as a phone would; then widened (the header's script
        # folds its links into "More" on load and on resize).
        page.set_viewport_size({"width": PHONE_WIDTHS[0], "height": 800})
        response = page.goto(path)
        if response is None or response.status != 200:
            problems.append(f"{role}: {path} answered {response.status if response else 'nothing'}")
            continue
        for width in PHONE_WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page_width, window_width = page.evaluate(
                "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done("
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]))))"
            )
            if page_width > window_width:
                problems.append(
                    f"{role}: {path} is {page_width}px wide in a {window_width}px window ({width}px screen)"
                )
        page.set_viewport_size(DESKTOP)
        try:
            assert_accessible(page)
        except pytest.fail.Exception as failure:
            problems.append(f"{role}: {failure}")
        unprotected = page.evaluate(
            """() => [...document.querySelectorAll('form')]
                .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
                .filter(f => !f.querySelector('input[name=csrfmiddlewaretoken]'))
                .map(f => f.getAttribute('action') || '(this page)')"""
        )
        if unprotected:
            problems.append(f"{role}: {path} has forms without a CSRF token posting to {unprotected}")
        for href in page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.getAttribute('href'))"
        ):
            url = urldefrag(href)[0]
            if url.startswith(origin):
                url = url[len(origin) :]
            if not url.startswith("/") or url.startswith("//"):
                continue
            if _crawlable(url) and url not in seen:
                seen.add(url)
                queue.append(url)
    return per_route, problems


def _crawl_roles(page: Page, origin: str, roles: queue.Queue, cookies: dict, results: dict) -> None:
    while True:
        try:
            role = roles.get_nowait()
        except queue.Empty:
            return
        page.context.clear_cookies()
        if role in cookies:
            page.context.add_cookies([cookies[role]])
        results[role] = _crawl(page, origin, role)


def _second_browser(origin: str, roles: queue.Queue, cookies: dict, results: dict, failures: list) -> None:
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = new_context(browser, origin).new_page()
                seen = watch(page, origin)
                _crawl_roles(page, origin, roles, cookies, results)
                failures.extend(f"second browser: {problem}" for problem in seen)
            finally:
                browser.close()
    except Exception as error:  # reported by the test, which runs in the other thread
        failures.append(f"second browser stopped: {error!r}")


def test_every_page_each_role_can_reach_is_accessible_and_protected_against_csrf(demo_site, page: Page, live_server):
    # One test for all roles: the demo data is loaded once (the crawl only reads).
    cookies = {
        role: _session_cookie(live_server, f"{role}@{DEMO_EMAIL_DOMAIN}") for role in ROLES if role != "anonymous"
    }
    roles: queue.Queue[str] = queue.Queue()
    for role in ROLES:
        roles.put(role)
    results: dict[str, tuple[Counter[str], list[str]]] = {}
    problems: list[str] = []
    second = threading.Thread(
        target=_second_browser, args=(live_server.url, roles, cookies, results, problems), daemon=True
    )
    second.start()
    _crawl_roles(page, live_server.url, roles, cookies, results)
    second.join(timeout=600)
    assert not second.is_alive(), "the second browser's crawl did not finish"
    assert sorted(results) == sorted(ROLES), (sorted(results), problems)
    for role in ROLES:
        per_route, found = results[role]
        problems += found
        # The crawl really crawled: the directory, boroughs, dashboards and indicators at least.
        assert len(per_route) >= 8, (role, per_route)
        # The open-data page is reached from every page's footer.
        assert "opendata_index" in per_route, (role, per_route)
    assert problems == [], "\n".join(problems)


def test_pages_only_a_post_reaches_are_accessible_too(demo_site, page: Page, live_server):
    # Links never lead to a form with errors or to a trial run's report: post them, then check.
    from commissioning.models import Partnership
    from commissioning.permissions import can_manage_partnership

    _sign_in(page, live_server, f"provider@{DEMO_EMAIL_DOMAIN}")
    page.goto("/data/form/?indicator=smi-physical-check&period=2024-25+Q4")
    page.locator("input[name^=num_]").first.fill("abc")
    page.get_by_role("button", name="Save values").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)  # the grid with a row in error, kept as typed
    page.goto("/data/upload/")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "checks.csv",
                "mimeType": "text/csv",
                "buffer": b"indicator_code,borough_code,period,numerator,denominator\n"
                b"smi-physical-check,E09000007,2023-24 Q1,12,40\n",
            }
        ]
    )
    page.get_by_label("Trial run only (dry run)").check()
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("button", name="Submit this file")).to_be_visible()
    assert_accessible(page)  # a clean trial run's report, with its one button

    page.context.clear_cookies()
    _sign_in(page, live_server, f"commissioner@{DEMO_EMAIL_DOMAIN}")
    commissioner = User.objects.get(email=f"commissioner@{DEMO_EMAIL_DOMAIN}")
    partnership = next(p for p in Partnership.objects.order_by("pk") if can_manage_partnership(commissioner, p))
    page.goto(f"/commissioning/partnerships/{partnership.slug}/meetings/new/")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Add meeting").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)  # a date input in error (31 February)
