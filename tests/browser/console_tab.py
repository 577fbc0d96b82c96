"""A browser tab signed in to the requester console of the running test server (tests/conftest.py
`server`), through the sign-in form with the server's admin key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, expect

from tests.browser.portal_site import DESKTOP, Site, Worker, open_worker
from tests.conftest import RunningServer


@contextmanager
def open_console(
    browser: Browser, site: Site, server: RunningServer, viewport: dict[str, int] = DESKTOP
) -> Iterator[Worker]:
    """A fresh context (own cookies) on the console's overview; `.check()` as for a worker's tab."""
    with open_worker(browser, site, viewport) as tab:
        page = tab.page
        page.goto(site.url + "/console/signin")
        page.get_by_label("Access key id").fill(server.access_key_id)
        page.get_by_label("Secret access key").fill(server.secret_access_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
        yield tab
