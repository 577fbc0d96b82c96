"""Portal fixtures: the real portal app over `services` (SQLite and PostgreSQL; `clock` is the
ManualClock those services use)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.applications import Starlette

from crowdloop.portal.app import create_portal
from crowdloop.runtime import Services
from tests.portal.kit import Browser


@pytest.fixture
def portal_app(services: Services) -> Starlette:
    return create_portal(services)


@pytest.fixture
def open_browser(portal_app: Starlette) -> Iterator[Callable[[], Browser]]:
    """Opens browsers (separate cookie jars) on the portal; closed at the end of the test."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(portal_app))
        return opened[-1]

    yield open_browser
    for item in opened:
        item.close()
