"""Console fixtures: the real root app (console, portal and AWS API) over `services` (SQLite and
PostgreSQL; `clock` is their ManualClock), browsers on it and a signed-in one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from crowdloop.app import CrowdloopApp
from crowdloop.keys import AccessKey
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser, add_key


@pytest.fixture
def root_app(services: Services) -> Iterator[CrowdloopApp]:
    app = CrowdloopApp(services)  # no lifespan: no reaper, nothing to warm
    yield app
    app.close()  # its background work (agreement refreshes, downloads) ends before `services` closes the store


@pytest.fixture
def open_console(root_app: CrowdloopApp) -> Iterator[Callable[[], ConsoleBrowser]]:
    """Opens browsers (separate cookie jars) on the server; closed at the end of the test."""
    opened: list[ConsoleBrowser] = []

    def open_console() -> ConsoleBrowser:
        opened.append(ConsoleBrowser(root_app))
        return opened[-1]

    yield open_console
    for item in opened:
        item.close()


@pytest.fixture
def admin_key(services: Services) -> AccessKey:
    return add_key(services)


@pytest.fixture
def console(open_console: Callable[[], ConsoleBrowser], admin_key: AccessKey) -> ConsoleBrowser:
    """A browser signed in to the console with admin_key."""
    browser = open_console()
    assert browser.sign_in(admin_key).status_code == 303
    return browser
