"""Browser fixtures: one headless Debian Chromium per test session, a fresh context + page per test.

The tests fail (they do not skip) when /usr/bin/chromium is missing: install Debian's `chromium`
package. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.harness import TaskPage

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package (apt-get install chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _task_page(browser: Browser, viewport: dict[str, int]) -> Iterator[TaskPage]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(5000)
    task = TaskPage(context, page)
    task.install()
    try:
        yield task
        task.check()
    finally:
        context.close()


@pytest.fixture
def task(browser: Browser) -> Iterator[TaskPage]:
    """A task page at 1280x800."""
    yield from _task_page(browser, DESKTOP)


@pytest.fixture
def phone_task(browser: Browser) -> Iterator[TaskPage]:
    """A task page at 390x844."""
    yield from _task_page(browser, PHONE)
