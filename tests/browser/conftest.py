"""Headless Chromium through Playwright, one browser for the whole run.

Playwright's sync API keeps an event loop running in the test thread, which makes
Django refuse ORM calls there ("cannot call this from an async context"). The tests
only use the ORM to set up data before the browser acts, so the check is switched off.
"""

import os
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def traffic() -> dict[str, list]:
    """What the page did: every URL it requested, and (status, URL) of every response."""
    return {"requests": [], "responses": []}


@pytest.fixture
def page(chromium, live_server, traffic):
    context = chromium.new_context(base_url=live_server.url, locale="nl-NL")
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    browser_page.on("request", lambda request: traffic["requests"].append(request.url))
    browser_page.on(
        "response", lambda response: traffic["responses"].append((response.status, response.url))
    )
    yield browser_page
    context.close()


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot to test-artifacts/<test name>[-suffix].png."""

    def save(browser_page, suffix: str = "") -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}{'-' + suffix if suffix else ''}.png"
        browser_page.screenshot(path=path, full_page=True)
        return path

    return save
