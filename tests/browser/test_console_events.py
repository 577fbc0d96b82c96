"""The Events pages in Chromium against a running server (SQLite and PostgreSQL): a webhook to a private address
refused next to its field; an SNS topic subscription (moto's server) added through the form, whose delivery the
server's dispatcher makes and the subscription's page then shows; Delete confirmed; the live panel filling as
events happen; axe-core clean and nothing wider than the screen at 1280 and 390 px."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from playwright.sync_api import Browser, Page, expect

from crowdloop import loops, subscriptions
from tests.browser.axe import assert_accessible
from tests.browser.console_tab import open_console
from tests.browser.portal_site import CALLER, DESKTOP, PHONE, Site, seed_template, site  # noqa: F401
from tests.conftest import RunningServer

REGION = "us-east-1"
SHOTS = os.environ.get("CROWDLOOP_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    server._server.server_close()  # type: ignore[union-attr]  # stop() leaves the listening socket open


def _topic(moto_url: str) -> str:
    sns = boto3.client(
        "sns", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    arn: str = sns.create_topic(Name=f"events-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sns.close()
    return arn


def _look(page: Page, name: str) -> None:
    """axe-clean and no sideways scrolling at both widths."""
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_accessible(page, context=f"{name} at {viewport['width']} px")
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{name} is {wide} px wide at {viewport['width']} px"
        if SHOTS:  # to look at (CROWDLOOP_SCREENSHOTS=<folder>, as for the console tour)
            page.screenshot(
                path=str(Path(SHOTS) / f"events-{name.replace(' ', '-')}-{viewport['width']}.png"), full_page=True
            )
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def test_subscriptions_deliveries_and_delete(
    site: Site,  # noqa: F811
    browser: Browser,
    server: RunningServer,
    moto_url: str,
) -> None:
    topic = _topic(moto_url)
    flow, _ = site.job(seed_template(), title="Events in the console")
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.get_by_role("link", name="Events").click()
        expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
        expect(page.get_by_role("group", name="EventBridge bus or SNS topic only")).to_be_hidden()
        form = page.get_by_role("region", name="Add subscription")
        form.get_by_label("Target").fill("http://127.0.0.1:9/hook")
        form.get_by_label("Description (optional)").fill("refused")
        form.get_by_role("button", name="Add subscription").click()
        expect(page.locator("#target-error")).to_contain_text("loopback address")
        expect(page.get_by_label("Target")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Description (optional)")).to_have_value("refused")
        _look(page, "events with an error")

        form = page.get_by_role("region", name="Add subscription")
        form.get_by_label("Kind").select_option("sns")
        expect(page.get_by_role("group", name="EventBridge bus or SNS topic only")).to_be_visible()
        form.get_by_label("Target").fill(topic)
        form.get_by_label("Region").fill(REGION)
        form.get_by_label("Endpoint URL (optional)").fill(moto_url)
        form.get_by_label("Access key id (optional)").fill("testing")
        form.get_by_label("Secret access key").fill("testing")
        form.get_by_label("Description (optional)").fill("SNS <topic> of the browser test")
        form.get_by_role("button", name="Add subscription").click()
        expect(page.get_by_text("The subscription was created.")).to_be_visible()
        sub = next(s for s in subscriptions.list_all(site.svc) if s.target == topic)
        row = page.locator(f'tr[data-subscription="{sub.id}"]')
        expect(row).to_contain_text("SNS <topic> of the browser test")
        expect(row).to_contain_text("SageMaker A2I HumanLoop Status Change")  # the example pattern, shortened

        site.start_loop(flow, {"text": "one"})  # Started: the example pattern does not match it
        loop = site.start_loop(flow, {"text": "two"})
        loops.stop_human_loop(site.svc, CALLER, loop)  # Stopped: a status change the pattern matches
        row.get_by_role("link", name=f"Subscription {sub.id}", exact=True).click()
        expect(page.get_by_role("heading", name=f"Subscription {sub.id}")).to_be_visible()
        for _ in range(20):  # the server's dispatcher sends it within a poll or two
            if page.locator(".status-delivered").count():
                break
            page.wait_for_timeout(500)
            page.reload()
        delivered = page.locator("tr[data-delivery]")
        expect(delivered).to_have_count(1)
        expect(delivered).to_contain_text("SageMaker A2I HumanLoop Status Change")
        expect(delivered.locator(".status-delivered")).to_have_text("delivered")
        _look(page, "subscription")

        delivered.get_by_role("link").click()
        expect(page.get_by_role("heading", name="Event")).to_be_visible()
        expect(page.locator("pre.json")).to_contain_text(f'"humanLoopName": "{loop}"')
        _look(page, "delivery")

        page.get_by_role("link", name=f"Subscription {sub.id}").click()
        page.get_by_role("link", name="Delete subscription").click()
        expect(page.get_by_role("heading", name=f"Delete subscription {sub.id}?")).to_be_visible()
        _look(page, "delete confirmation")
        page.get_by_role("button", name="Delete subscription").click()
        expect(page.get_by_text("The subscription was deleted.")).to_be_visible()
        assert all(s.id != sub.id for s in subscriptions.list_all(site.svc))
        tab.check("HTTP 400: " + site.url + "/console/webhooks/create", "status of 400")  # the refused target


def test_the_live_panel_fills_as_events_happen(site: Site, browser: Browser, server: RunningServer) -> None:  # noqa: F811
    flow, _ = site.job(seed_template(), title="Live events")
    with open_console(browser, site, server) as tab:
        page = tab.page
        page.goto(site.url + "/console/webhooks")
        panel = page.get_by_role("region", name="Live events").first
        expect(page.locator("[data-live-state]")).to_have_text("Live", timeout=15_000)
        names = [site.start_loop(flow, {"text": str(n)}) for n in range(3)]
        rows = page.locator("[data-live-rows] tr:not([data-live-empty])")
        expect(rows).to_have_count(3, timeout=15_000)
        expect(rows.first).to_contain_text(names[-1])  # newest first
        expect(rows.first).to_contain_text("crowdloop HumanLoop Started")
        expect(rows.first).to_contain_text("InProgress")
        assert panel.is_visible()
        _look(page, "events with live rows")
        tab.check()
