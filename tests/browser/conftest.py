"""Headless Chromium from Debian, driven by Playwright (its own browser download cannot work here)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("QINGKA_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("QINGKA_SCREENSHOTS", Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (see .ci/apt-packages.txt)"
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls between
    # browser steps are still plain synchronous code. Only while the browser tests run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def new_page(chromium):
    """new_page(**context options): a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(**options):
        context = chromium.new_context(**{"locale": "zh-CN", "viewport": {"width": 1280, "height": 900}, **options})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request):
    """shot(page, name) writes a full-page screenshot to test-artifacts/screenshots/ (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{name}.png", full_page=True)

    return take
