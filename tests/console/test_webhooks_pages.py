"""The Events pages over HTTP through the real root app, on SQLite and PostgreSQL: subscriptions created
(against a real receiver on 127.0.0.1), refused with the message next to the field, deleted after a
confirmation; a subscription's deliveries paged by keyset, filtered, redelivered; the secret shown once;
sign-in and CSRF on every page and change; limits on every input."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from crowdloop import deliveries, subscriptions
from crowdloop.clock import ManualClock
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.webhook_http import Attempt
from tests.console.kit import ConsoleBrowser
from tests.domain.loopsetup import make_flow, start
from tests.events.receivers import HttpReceiver

ALL = '{"version": ["0"]}'
_SECRET = re.compile(r'id="webhook-secret" type="text" readonly value="([^"]+)"')
_DELIVERY_ROW = re.compile(r'<tr data-delivery="(\d+)">')
_OLDER = re.compile(r'href="([^"]+)" rel="next">Older<')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receivers of these tests listen on 127.0.0.1; a retry window of a minute (the console session stays
    alive while the clock passes it)."""
    return dataclasses.replace(settings, webhook_allow_private_targets=True, webhook_retry_hours=1 / 60)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def _form(target: str, **fields: str) -> dict[str, str]:
    return {"kind": "webhook", "target": target, "pattern": ALL, "description": "", **fields}


def _subscribe(services: Services, url: str, pattern: str = ALL) -> subscriptions.Subscription:
    return subscriptions.create(services, kind="webhook", target=url, pattern=pattern, created_by="test")


def _error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert found is not None, f"no error next to {field}"
    return html.unescape(found.group(1))


def test_signed_out_pages_go_to_sign_in_and_changes_are_refused(
    open_console: Callable[[], ConsoleBrowser], services: Services, receiver: HttpReceiver
) -> None:
    sub = _subscribe(services, receiver.url())
    browser = open_console()
    for path in ("/console/webhooks", f"/console/webhooks/{sub.id}", f"/console/webhooks/{sub.id}/delete"):
        answer = browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/signin?next=" + path
    assert browser.post(f"/console/webhooks/{sub.id}/delete", csrf="x").status_code in (401, 403)
    assert browser.post("/console/webhooks/create", _form(receiver.url()), csrf="x").status_code in (401, 403)
    assert [s.id for s in subscriptions.list_all(services)] == [sub.id]


def test_create_a_webhook_shows_its_secret_once(
    console: ConsoleBrowser, services: Services, receiver: HttpReceiver
) -> None:
    page = console.get("/console/webhooks")
    assert page.status_code == 200
    assert '<a href="/console/webhooks" aria-current="page">Events</a>' in page.text
    assert "SageMaker A2I HumanLoop Status Change" in page.text  # the example pattern in the form
    form = _form(receiver.url(), description="Invoices <b>team</b>")
    created = console.post("/console/webhooks/create", form)
    assert created.status_code == 200, created.text
    assert "it will not be shown again" in created.text
    assert 'data-copy="webhook-secret" data-copy-what="secret"' in created.text  # copy.js's button
    assert re.search(r'<script src="[^"]*copy\.js[^"]*" defer>', created.text)
    shown = _SECRET.search(created.text)
    assert shown is not None
    (sub,) = subscriptions.list_all(services)
    assert sub.secret is not None and html.unescape(shown.group(1)) == sub.secret.reveal()
    assert sub.target == receiver.url() and sub.created_by == console_key(console)
    listing = console.get("/console/webhooks").text
    assert sub.secret.reveal() not in listing
    assert "Invoices &lt;b&gt;team&lt;/b&gt;" in listing and "<b>team</b>" not in listing
    assert f'<tr data-subscription="{sub.id}">' in listing


def console_key(console: ConsoleBrowser) -> str:
    found = re.search(r'<span class="who"[^>]*>([^<]+)</span>', console.get("/console/webhooks").text)
    assert found is not None
    return found.group(1)


def test_refusals_are_shown_next_to_their_field_with_the_input_kept(
    console: ConsoleBrowser, services: Services, receiver: HttpReceiver
) -> None:
    console.get("/console/webhooks")
    bad_pattern = console.post(
        "/console/webhooks/create", _form(receiver.url(), pattern='{"detail": {"humanLoopStatus": "Failed"}}')
    )
    assert bad_pattern.status_code == 400
    assert "detail.humanLoopStatus" in _error(bad_pattern.text, "pattern")
    assert f'value="{receiver.url()}"' in bad_pattern.text  # the target kept
    assert "&#34;humanLoopStatus&#34;: &#34;Failed&#34;" in bad_pattern.text  # the pattern as typed

    bad_scheme = console.post("/console/webhooks/create", _form("ftp://127.0.0.1/hook", description="kept"))
    assert bad_scheme.status_code == 400 and "http" in _error(bad_scheme.text, "target")
    assert 'value="kept"' in bad_scheme.text
    nobody = console.post("/console/webhooks/create", _form("http://127.0.0.1:9/hook"))
    assert "cannot be reached" in _error(nobody.text, "target")

    bus = {"kind": "sns", "pattern": ALL, "description": "", "access_key_id": "AKIDEXAMPLE"}
    bad_topic = console.post(
        "/console/webhooks/create", {**bus, "target": "not-a-topic", "secret_access_key": "s3cr3t"}
    )
    assert bad_topic.status_code == 400 and "topic ARN" in _error(bad_topic.text, "target")
    assert "s3cr3t" not in bad_topic.text  # a secret key is never written into a page
    topic = "arn:aws:sns:us-east-1:123456789012:events"
    bad_region = console.post("/console/webhooks/create", {**bus, "target": topic, "region": "moon"})
    assert "region" in _error(bad_region.text, "region")
    no_secret = console.post("/console/webhooks/create", {**bus, "target": topic})
    assert "secret_access_key" in _error(no_secret.text, "secret_access_key")

    too_long = console.post("/console/webhooks/create", _form(receiver.url(), description="d" * 300))
    assert too_long.status_code == 400 and "at most 256 characters" in _error(too_long.text, "description")
    assert subscriptions.list_all(services) == []


def test_create_needs_the_csrf_token_and_our_origin(
    console: ConsoleBrowser, services: Services, receiver: HttpReceiver
) -> None:
    console.get("/console/webhooks")
    assert console.post("/console/webhooks/create", _form(receiver.url()), csrf="forged").status_code == 403
    other = console.post("/console/webhooks/create", _form(receiver.url()), origin="http://evil.test")
    assert other.status_code == 403
    assert subscriptions.list_all(services) == []


def test_delete_after_a_confirmation(console: ConsoleBrowser, services: Services, receiver: HttpReceiver) -> None:
    sub = _subscribe(services, receiver.url())
    confirm = console.get(f"/console/webhooks/{sub.id}/delete")
    assert confirm.status_code == 200
    assert f"Delete subscription {sub.id}?" in confirm.text and receiver.url() in confirm.text
    assert console.post(f"/console/webhooks/{sub.id}/delete", csrf="forged").status_code == 403
    assert subscriptions.list_all(services) != []
    done = console.post(f"/console/webhooks/{sub.id}/delete")
    assert done.status_code == 303 and done.headers["location"] == "/console/webhooks?done=deleted"
    assert "The subscription was deleted." in console.get(done.headers["location"]).text
    assert subscriptions.list_all(services) == []
    assert console.post(f"/console/webhooks/{sub.id}/delete").status_code == 404
    assert console.get(f"/console/webhooks/{sub.id}/delete").status_code == 404
    assert console.get(f"/console/webhooks/{10**30}").status_code == 404
    assert console.get("/console/webhooks/deliveries/99999999999999999999999").status_code == 404


def _delivery_ids(page: str) -> list[int]:
    return [int(n) for n in _DELIVERY_ROW.findall(page)]


def test_deliveries_paged_by_keyset_and_filtered(
    console: ConsoleBrowser, services: Services, receiver: HttpReceiver
) -> None:
    sub = _subscribe(services, receiver.url())
    flow = make_flow(services)
    names = [start(services, flow) for _ in range(60)]  # one Started event each
    url = f"/console/webhooks/{sub.id}"
    page = console.get(url)
    assert page.status_code == 200
    assert "crowdloop HumanLoop Started" in page.text and "pending" in page.text
    seen = _delivery_ids(page.text)
    assert len(seen) == 50
    older = _OLDER.search(page.text)
    assert older is not None
    rest = console.get(html.unescape(older.group(1)))
    assert "Newest" in rest.text and _OLDER.search(rest.text) is None
    seen += _delivery_ids(rest.text)
    expected = [d.id for d in deliveries.listing(services, sub.id, limit=1000)]
    assert seen == expected and len(expected) == len(names)

    assert _delivery_ids(console.get(url + "?state=failed").text) == []
    assert "No failed deliveries" in console.get(url + "?state=failed").text
    assert len(_delivery_ids(console.get(url + "?state=pending").text)) == 50
    for bad in ("?state=lost", "?before=abc", "?before=" + "9" * 30, "?before=-1"):
        assert console.get(url + bad).status_code == 400, bad


def _fail_every_delivery(services: Services, subscription_id: int) -> None:
    """Two attempts: the first fails, the second fails after the retry window: failed for good."""
    clock = services.clock
    assert isinstance(clock, ManualClock)
    for _ in range(2):
        claimed = deliveries.claim(services, subscription_id, "lane", 100)
        deliveries.settle(
            services, "lane", [(c, Attempt(False, 503, "HTTP 503 from the receiver", None, 1.0)) for c in claimed]
        )
        clock.advance(timedelta(hours=services.settings.webhook_retry_hours).total_seconds() + 1)


def test_redeliver_one_and_all_failed(console: ConsoleBrowser, services: Services, receiver: HttpReceiver) -> None:
    sub = _subscribe(services, receiver.url())
    flow = make_flow(services)
    start(services, flow, "loop-one")
    start(services, flow, "loop-two")
    _fail_every_delivery(services, sub.id)
    url = f"/console/webhooks/{sub.id}"
    page = console.get(url + "?state=failed")
    ids = _delivery_ids(page.text)
    assert len(ids) == 2
    assert "HTTP 503" in page.text and "HTTP 503 from the receiver" in page.text and "ended " in page.text
    assert 'class="status status-failed"' in page.text
    assert "Failed</dt><dd>2</dd>" in console.get(url).text.replace("\n", "")

    detail = console.get(f"/console/webhooks/deliveries/{ids[0]}")
    assert detail.status_code == 200
    assert "&#34;humanLoopName&#34;: &#34;loop-two&#34;" in detail.text  # the event, formatted (newest first)
    assert "\n  &#34;detail-type&#34;" in detail.text

    row = f"/console/webhooks/deliveries/{ids[0]}/redeliver"
    assert console.post(row, {"state": "failed"}, csrf="forged").status_code == 403
    again = console.post(row, {"state": "failed", "before": ""})
    assert again.status_code == 303
    assert again.headers["location"] == f"{url}?state=failed&done=redelivered"
    assert "The delivery will be sent again now." in console.get(again.headers["location"]).text
    assert deliveries.detail(services, ids[0])[0].state == deliveries.PENDING
    assert console.post(row, {"state": "lost"}).status_code == 400

    from_detail = console.post(f"/console/webhooks/deliveries/{ids[1]}/redeliver", {"back": "delivery"})
    assert from_detail.headers["location"] == f"/console/webhooks/deliveries/{ids[1]}?done=redelivered"
    _fail_every_delivery(services, sub.id)
    assert console.post(f"{url}/redeliver-failed", csrf="forged").status_code == 403
    all_failed = console.post(f"{url}/redeliver-failed")
    assert all_failed.headers["location"] == f"{url}?redelivered=2"
    assert "2 failed deliveries will be sent again now." in console.get(all_failed.headers["location"]).text
    assert deliveries.summary(services, sub.id) == {"pending": 2, "failed": 0}
    assert console.post("/console/webhooks/deliveries/987654/redeliver").status_code == 404


def test_the_live_panel_and_its_script_are_on_the_page(console: ConsoleBrowser) -> None:
    page = console.get("/console/webhooks").text
    assert 'data-stream-url="/console/events/stream"' in page
    script = re.search(r'<script src="(/console/static/webhooks\.js\?v=\w+)" defer></script>', page)
    assert script is not None
    served = console.get(script.group(1))
    assert served.status_code == 200 and "EventSource" in served.text
    assert "<script>" not in page  # the console's CSP forbids inline script
