"""Signing in through the workforce's OpenID Connect provider in Chromium against a running crowdloop server:
the sign-in page's provider button, the round trip through the (test) provider, working on a job of the
group the provider names, the Oidc identity data in output.json, and sign-out's link to the provider."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from crowdloop import workforce
from crowdloop.errors import NotFound
from crowdloop.runtime import Caller
from tests.browser.portal_site import Site, open_worker, site  # noqa: F401
from tests.browser.test_portal_queue import TEMPLATE
from tests.portal.oidc_idp import TestIdp

# The server is shared by the session and its default workforce (us-east-1) has work teams already, so the
# provider belongs to the account's workforce of another region; the portal offers every region's provider.
OIDC_CALLER = Caller(account="123456789012", region="eu-west-1")


@pytest.fixture
def idp(site: Site) -> Iterator[TestIdp]:  # noqa: F811
    provider = TestIdp().start()
    name = "browser-oidc"
    with contextlib.suppress(NotFound):  # the region's default workforce: a tombstone, so ours can exist
        workforce.delete_workforce(site.svc, OIDC_CALLER, workforce.DEFAULT_WORKFORCE)
    workforce.create_workforce(site.svc, OIDC_CALLER, name, oidc_config=provider.oidc_config())
    try:
        yield provider
    finally:
        workforce.delete_workforce(site.svc, OIDC_CALLER, name)
        provider.stop()


def test_oidc_sign_in_end_to_end(site: Site, browser: Browser, idp: TestIdp) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, title="Label through OIDC")
    name = site.start_loop(flow, {"text": "signed in elsewhere"})
    idp.user["sagemaker:groups"] = [group]
    idp.user["sagemaker:sub"] = f"sub-{group}"
    idp.user["email"] = f"{group}@corp.example"
    with open_worker(browser, site) as worker:
        page = worker.page
        page.goto(site.url + "/")
        expect(page.get_by_label("Email")).to_be_visible()  # the password form stays
        page.get_by_role("link", name="Sign in with 127.0.0.1").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        expect(page.get_by_text(f"{group}@corp.example")).to_be_visible()
        worker.start("Label through OIDC")
        worker.wait_for_task()
        worker.frame.get_by_label("Your label").fill("via the provider")
        worker.frame.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="No tasks left")).to_be_visible()
        [answer] = site.output(name)["humanAnswers"]
        assert answer["workerMetadata"]["identityData"] == {
            "identityProviderType": "Oidc",
            "issuer": idp.issuer,
            "sub": f"sub-{group}",
        }
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign out of 127.0.0.1 too")).to_be_visible()
        worker.check()
