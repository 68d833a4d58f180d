"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

Without /usr/bin/chromium the browser tests fail in CI (CI=true) and skip elsewhere, saying why.
Screenshots go to artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
ASSET_TYPES = ("script", "stylesheet", "image", "font")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium, or scripts/ensure-chromium.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator:
    _require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Starting Playwright's sync API switches this thread to another context (contextvars), where Django would
    # open new connection objects that lack the test database's serialized contents (serialized_rollback):
    # the test database is set up first, and its connection objects are put back once Playwright runs.
    opened = {alias: connections[alias] for alias in connections}
    # Playwright also keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            for alias, connection in opened.items():
                connections[alias] = connection
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Screens:
    """Saves numbered screenshots of one test under artifacts/browser/."""

    def __init__(self, prefix: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.count = 0

    def shot(self, page, name: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(browser, live_server) -> Iterator:
    """``open_page(width=, height=)``: a page in a fresh browser context (own cookies), closed after the test."""
    contexts: list = []

    def open_one(*, width: int, height: int, language: str = "zh-hans"):
        page = _new_page(browser, live_server.url, width=width, height=height, language=language)
        contexts.append(page.context)
        return page

    yield open_one
    for context in contexts:
        context.close()


def _new_page(browser, base_url: str, *, width: int, height: int, language: str, **options):
    """A page in a new context (``options``: more context settings, e.g. is_mobile, has_touch). Uncaught JavaScript
    errors and scripts, stylesheets or images that failed to load are collected in ``page.js_errors``."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **options)
    context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    page.on("response", lambda r: r.request.resource_type in ASSET_TYPES and r.status >= 400
            and page.js_errors.append(f"{r.status} {r.url}"))
    # (htmx aborts a superseded search request on purpose: only assets count as failures)
    page.on("requestfailed", lambda r: r.resource_type in ASSET_TYPES and page.js_errors.append(f"failed {r.url}"))
    return page


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base_url}/")
