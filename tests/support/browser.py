"""A real headless Chromium for the console's end-to-end tests: Debian's `chromium` driven by Playwright.

Playwright's own browser download cannot run here (no internet but package registries), so the tests launch the
distribution's Chromium (`.ci/run` installs it). Screenshots of each page go to `INFERD_SCREENSHOTS_DIR` (CI keeps
that folder as an artefact) or, without it, under pytest's temporary directory; they are never committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

CHROMIUM = Path(os.environ.get("INFERD_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run"]
SCREENSHOTS_ENV = "INFERD_SCREENSHOTS_DIR"
EXPECT_TIMEOUT_MS = 20_000
"""How long an assertion on the page waits: a page follows the server through its live feed, and on a busy 2-core
machine a change can take seconds to show (Playwright's default is 5)."""
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; in CI (`CI=true`) its absence is a failure."""
    if CHROMIUM.is_file():
        return
    message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get(SCREENSHOTS_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@dataclass
class BrowserErrors:
    """Script errors and failed requests a page met: a console that works has none but those a test expects."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("console", lambda message: self.console_errors.append(message.text) if message.type == "error" else None)


@dataclass
class RequestLog:
    """Every URL the browser asked for, to check that no credential ever appears in one."""

    urls: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        def record(request: Request) -> None:
            self.urls.append(request.url)

        context.on("request", record)


def console_url(server_url: str) -> str:
    return f"{server_url}/_inferd/console/"


def sign_in_with_key(page: Page, server_url: str, api_key: str) -> None:
    page.goto(console_url(server_url))
    page.get_by_role("tab", name="API key").click()
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()


def sign_in_with_password(page: Page, server_url: str, username: str, password: str) -> None:
    page.goto(console_url(server_url))
    page.get_by_role("tab", name="User and password").click()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
