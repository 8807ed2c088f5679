"""Real-browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Static files are served the way production serves them: `collectstatic` (run by the test
command) writes hashed, compressed copies to STATIC_ROOT and WhiteNoise's middleware serves
them. pytest-django's own live server would answer /static/ from the source folders through
the staticfiles finders instead, which knows nothing of the hashed names the pages ask for.

One browser serves the whole session. Playwright's sync API marks its event loop as running
in this thread after every call, and while that mark is set Django keeps a second, separate
set of database connections for this thread (asgiref keys them by event-loop context). The
test database's serialized copy, which `serialized_rollback` restores, lives only on the
first set, and any other code that checks for a running loop would be misled too. So the mark
is set only while a test uses the browser (from `context` set-up to tear-down) and cleared at
every test boundary: pytest-django's database set-up and flush, and every test after the
browser tests, see a plain synchronous thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.testcases import LiveServerThread
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request, Response, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pytest_django.live_server_helper import LiveServer

from londonmh.devenv import ROOT

# Assertions wait as long as actions do: under two test workers, a live server and Chromium on two
# cores, a page can take longer than expect()'s default 5 s to arrive (the commitments journey's
# sign page did, once, in a fresh-clone CI run).
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _no_static_handler(application):  # type: ignore[no-untyped-def]
    # Every request, /static/ included, goes through the middleware stack, so WhiteNoise serves it.
    return application


class WhiteNoiseLiveServer(LiveServer):
    """pytest-django's live server with static files left to WhiteNoise, as in production."""

    def __init__(self, addr: str) -> None:
        super().__init__(addr, start=False)
        default = self.thread
        self.thread = LiveServerThread(
            default.host,
            static_handler=_no_static_handler,
            connections_override=default.connections_override,
            port=default.port,
        )
        self.thread.daemon = True
        self.start()


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        pytest.fail("Run collectstatic first (`python -m londonmh.devenv test` does).")
    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = WhiteNoiseLiveServer(addr)
    yield server
    server.stop()


class _PlaywrightLoop:
    """Sets and clears Playwright's "event loop running" mark on this thread (see the module docstring)."""

    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def adopt(cls) -> None:
        # Right after a Playwright call, the running loop is Playwright's.
        cls.loop = asyncio.get_running_loop()
        cls.leave()

    @classmethod
    def enter(cls) -> None:
        # Playwright's next call expects its loop marked running, as its own calls leave it.
        asyncio.events._set_running_loop(cls.loop)

    @staticmethod
    def leave() -> None:
        # The connections Django opened for the loop's context would otherwise stay open.
        connections.close_all()
        asyncio.events._set_running_loop(None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Chromium at {CHROMIUM} (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _PlaywrightLoop.adopt()
        yield browser
        _PlaywrightLoop.enter()
        browser.close()
    asyncio.events._set_running_loop(None)


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    _PlaywrightLoop.enter()
    try:
        context = new_context(browser, live_server.url)
        yield context
        context.close()
    finally:
        _PlaywrightLoop.leave()


def new_context(browser: Browser, origin: str) -> BrowserContext:
    # bypass_csp lets the test inject axe-core; the portal's own pages never need it.
    context = browser.new_context(base_url=origin, bypass_csp=True, locale="en-GB")
    context.set_default_timeout(15_000)
    # Nothing leaves the machine: the NHS.UK web fonts' host is refused and pages fall back to Arial.
    context.route(lambda url: not url.startswith(origin), lambda route: route.abort())
    return context


def watch(page: Page, origin: str) -> list[str]:
    """The problems the page will meet, as they happen: script errors, and any of the portal's
    assets (CSS, script, icon) answering an error or failing to load."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))

    def check_response(response: Response) -> None:
        if response.url.startswith(origin) and response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} for {response.url}")

    def check_failure(request: Request) -> None:
        # ERR_ABORTED: the page moved on (a click, a goto) before this request finished.
        if request.url.startswith(origin) and request.failure != "net::ERR_ABORTED":
            problems.append(f"{request.failure} for {request.url}")

    page.on("response", check_response)
    page.on("requestfailed", check_failure)
    return problems


@pytest.fixture
def page(context: BrowserContext, live_server: LiveServer) -> Iterator[Page]:
    page = context.new_page()
    problems = watch(page, live_server.url)
    yield page
    # A missing asset (CSS, script, icon) or a script error fails the test that saw it.
    assert problems == [], f"the browser saw problems: {problems}"


# Resolves once the NHS.UK header's script has started and its navigation list has gone three
# animation frames without its items being moved; false if that has not happened in 5 s.
_HEADER_SETTLED = """async () => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const root = document.querySelector('[data-module="nhsuk-header"]');
  const list = root && root.querySelector('.nhsuk-header__navigation-list');
  if (!list) return true;
  const deadline = performance.now() + 5000;
  while (!root.hasAttribute('data-nhsuk-header-init')) {
    if (performance.now() > deadline) return false;
    await frame();
  }
  let quiet = 0;
  const moves = new MutationObserver(() => { quiet = 0; });
  moves.observe(list, {childList: true, subtree: true});
  try {
    while (quiet < 3) {
      if (performance.now() > deadline) return false;
      await frame();
      quiet += 1;
    }
  } finally {
    moves.disconnect();
  }
  return true;
}"""


def settled_header(page: Page) -> Locator:
    """The page's header, once its navigation has stopped moving: click its links through this.

    On every resize, and once just after it starts (its ResizeObserver's first report), the NHS.UK
    header takes each navigation item out of the list and puts it back to measure it, whether or
    not anything then moves under "More". Chromium drops a click whose mouse-down and mouse-up
    fall either side of that (the link left the page in between), so a test that clicks a header
    link the moment a page arrives can, now and then, stay where it was.
    """
    assert page.evaluate(_HEADER_SETTLED), f"the header on {page.url} was still moving its links after 5 s"
    return page.locator("header")


def assert_accessible(page: Page) -> None:
    """Run axe-core on the page for WCAG 2.2 A and AA and fail on any violation.

    First the page settles: loaded, and on a narrow screen the header's script has folded its
    links into "More" (until then they overflow, white on the grey page, and axe would judge a
    moment no reader sees). If it never folds, reflow checks say how wide the page is.
    """
    page.wait_for_load_state()
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth", timeout=3000
        )
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    violations = results["violations"]
    if violations:
        lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"]:
                lines.append(f"    {json.dumps(node['target'])}: {node['failureSummary']}".replace("\n", " "))
        pytest.fail("\n".join(lines), pytrace=False)
