"""`next` keeps the browser on the portal, in Chromium against a running crowdloop server: a TAB in it
("/<TAB>/other-host/" is "//other-host/" to a browser) is refused after password and OIDC sign-in alike."""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlsplit

from playwright.sync_api import Browser, expect

from crowdloop import workforce
from tests.browser.portal_site import PASSWORD, Site, open_worker, site  # noqa: F401
from tests.browser.test_portal_oidc import OIDC_CALLER, idp  # noqa: F401
from tests.portal.oidc_idp import TestIdp


def _elsewhere(site: Site) -> str:  # noqa: F811
    """Another origin on this machine (the same server under another name)."""
    return f"localhost:{urlsplit(site.url).port}"


def test_tab_in_next_is_refused_at_password_sign_in(site: Site, browser: Browser) -> None:  # noqa: F811
    email = site.worker(f"g-{uuid.uuid4().hex[:10]}")
    tab_next = f"/\t/{_elsewhere(site)}/"
    with open_worker(browser, site) as worker:
        page = worker.page
        reply = page.goto(f"{site.url}/signin?next={quote(tab_next)}")
        assert reply is not None and reply.status == 400
        expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
        page.goto(site.url + "/signin")  # the form's hidden field changed by hand is refused too
        page.locator('input[name="next"]').evaluate("(field, value) => { field.value = value; }", tab_next)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
        assert page.url.startswith(site.url + "/"), page.url
        page.goto(f"{site.url}/signin?next={quote('/?notice=released')}")  # a path on the portal is kept
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        assert page.url == site.url + "/?notice=released"
        worker.check("400")


def test_tab_in_next_is_refused_at_oidc_sign_in(site: Site, browser: Browser, idp: TestIdp) -> None:  # noqa: F811
    group = f"g-{uuid.uuid4().hex[:10]}"
    idp.user.update({"sagemaker:groups": [group], "sagemaker:sub": f"sub-{group}", "email": f"{group}@corp.example"})
    workforce_id = workforce.describe_workforce(site.svc, OIDC_CALLER, "browser-oidc").id
    with open_worker(browser, site) as worker:
        page = worker.page
        reply = page.goto(f"{site.url}/signin/oidc/{workforce_id}?next={quote(f'/{chr(9)}/{_elsewhere(site)}/')}")
        assert reply is not None and reply.status == 400
        expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
        assert page.url.startswith(site.url + "/"), page.url  # never sent to the provider
        assert idp.authorize_requests == []
        page.goto(f"{site.url}/signin?next={quote('/?notice=declined')}")
        page.get_by_role("link", name="Sign in with 127.0.0.1").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        assert page.url == site.url + "/?notice=declined"  # the next of the round trip is kept
        worker.check("400")
