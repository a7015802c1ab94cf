"""Browser tests: Playwright driving Debian's Chromium against a live server.

The browser is the one from the `chromium` package, never one Playwright downloads, so the
tests run where no download is possible. Without it they fail, so CI cannot pass them by
skipping; a developer without Chromium may set AUDITREG_BROWSER_TESTS=skip.
"""

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connections
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from tests.factories import password

T = TypeVar("T")

CHROMIUM = Path(os.environ.get("AUDITREG_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing that calls out to the internet behind the test's back.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("AUDITREG_BROWSER_TESTS") == "skip":
        pytest.skip(f"no Chromium at {CHROMIUM} and AUDITREG_BROWSER_TESTS=skip")
    pytest.fail(
        f"no Chromium at {CHROMIUM}: install Debian's `chromium` package "
        "(or set AUDITREG_BROWSER_TESTS=skip to skip the browser tests on this machine)"
    )


@pytest.fixture
def playwright(monkeypatch) -> Iterator[Playwright]:
    """Playwright's sync API, for one test.

    It runs its own event loop in this thread, so Django takes the test's ORM calls for calls
    from async code and refuses them; they are plain synchronous calls, hence the flag. While
    that loop runs, Django also gives the test a database connection of its own, apart from
    the one its fixtures used: it is closed before the loop stops, or it would outlive the
    test database.
    """
    chromium_or_skip()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as driver:
        yield driver
        connections.close_all()


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
    )
    yield browser
    browser.close()
    requests_ended()


def requests_ended() -> None:
    """Wait until the live server has answered every request of the closed browser.

    A request still running (the favicon asked for after a page loaded, a connection kept
    alive) would hold a database connection while the test's tables are emptied, or while
    the test database is dropped at the end of the run.
    """
    for thread in threading.enumerate():
        # The live server's ThreadingMixIn names each request's thread after this target.
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=60)


@dataclass
class Visit:
    """What one browser context saw: requests to other origins and console errors (a page
    breaking the content security policy logs one)."""

    origin: str
    elsewhere: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def visit(live_server) -> Visit:
    return Visit(origin=live_server.url)


@pytest.fixture
def new_page(browser: Browser, visit: Visit) -> Iterator[Callable[[], Page]]:
    """Open a page in a fresh context (its own cookies): one person at a keyboard.

    Every page must load only from our own origin and log no error.
    """
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(base_url=visit.origin, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("request", lambda r: _note_request(visit, r.url))
        page.on("response", lambda r: _note_response(visit, r))
        page.on("console", lambda m: _note_console(visit, m))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert visit.elsewhere == [], "pages loaded something from another origin"
    assert visit.console_errors == [], "pages logged errors in the browser console"


def _note_request(visit: Visit, url: str) -> None:
    if not url.startswith((visit.origin, "data:", "blob:", "about:")):
        visit.elsewhere.append(url)


def _note_response(visit: Visit, response: Response) -> None:
    """A page's own status is the test's business; a style sheet, script or image that fails
    to load is an error. Browsers may ask for /favicon.ico whatever icon a page names."""
    request = response.request
    failed = response.status >= 400 and request.resource_type != "document"
    if failed and not request.url.endswith("/favicon.ico"):
        visit.console_errors.append(f"{response.status} {request.url}")


def _note_console(visit: Visit, message: ConsoleMessage) -> None:
    # Failed loads are judged by _note_response, which knows what failed.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        visit.console_errors.append(message.text)


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


def sign_in(page: Page, username: str, secret: str | None = None) -> None:
    """Through the real sign-in form, by its labels."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(secret if secret is not None else password(username))
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button', 'reset'].includes(e.type))
  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id || e.outerHTML)"""


def assert_every_field_labelled(page: Page) -> None:
    assert page.evaluate(UNLABELLED) == [], f"fields without a label on {page.url}"
    assert page.locator("h1").count() == 1, f"one main heading on {page.url}"
    assert page.locator("html").get_attribute("lang"), "the page names its language"


def in_a_worker(work: Callable[..., T], *args: Any) -> T:
    """Run `work` in a thread of its own, as a Celery worker would, and return its result.

    Not in the test's thread: Playwright's event loop runs there, and code that starts its
    own loop (pyHanko signing a PDF) would refuse to.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_closing_connections, work, *args).result()


def _closing_connections(work: Callable[..., T], *args: Any) -> T:
    try:
        return work(*args)
    finally:
        connections.close_all()  # a thread's connection would outlive the test's database
