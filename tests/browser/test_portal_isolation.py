"""Nothing a requester's input or an object puts in front of a signed-in worker runs with the portal's origin,
in Chromium against a running crowdloop server: the task frame opened as a page (its CSP sandboxes it), and
an S3 object presigned as text/html (served inert, as an attachment)."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from tests.browser.portal_site import Site, open_worker, site  # noqa: F401
from tests.conftest import RunningServer

# What a hostile script in a task's input tries once it runs: read the worker's cookies, open a portal page
# and read its CSRF token, fetch a portal page with the worker's cookies.
PROBE = """<script>
var probe = {origin: self.origin, popup: "none", csrf: "none", fetched: "pending"};
try { probe.cookie = document.cookie; } catch (e) { probe.cookie = "blocked"; }
try {
  var opened = window.open("/");
  probe.popup = opened ? "opened" : "blocked";
  if (opened) setTimeout(function () {
    try { probe.csrf = opened.document.querySelector("[name=csrf_token]").value; }
    catch (e) { probe.csrf = "blocked"; }
  }, 1500);
} catch (e) { probe.popup = "blocked"; }
fetch("/", {credentials: "include"}).then(function (r) { return r.text(); }).then(
  function (text) { probe.fetched = text.indexOf("csrf_token") >= 0 ? "read" : "empty"; },
  function () { probe.fetched = "blocked"; });
window.crowdloopProbe = probe;
</script>"""
TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><div>{{ task.input.note | skip_autoescape }}</div>
<crowd-input name="label" label="Your label" required></crowd-input></crowd-form>"""


def _probe(page: Page) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        probe: dict[str, Any] | None = page.evaluate("window.crowdloopProbe || null")
        if (
            probe is not None
            and probe["fetched"] != "pending"
            and (probe["popup"] != "opened" or probe["csrf"] != "none")
        ):
            return probe
        assert time.monotonic() < deadline, probe
        page.wait_for_timeout(100)


def test_task_frame_opened_as_a_page_runs_in_an_opaque_origin(site: Site, browser: Browser) -> None:  # noqa: F811
    flow, group = site.job(TEMPLATE, title="Frame opened as a page")
    site.start_loop(flow, {"note": PROBE})
    with open_worker(browser, site) as worker:
        worker.sign_in(site.worker(group))
        worker.start("Frame opened as a page")
        worker.wait_for_task()
        framed = worker.page.frames[1].evaluate("window.crowdloopProbe.origin")
        assert framed == "null"  # inside the task page: the iframe's sandbox attribute
        src = worker.page.locator("iframe").get_attribute("src")
        assert src and src.startswith("/tasks/")
        top = worker.page.context.new_page()
        reply = top.goto(site.url + src)
        assert reply is not None and reply.status == 200
        assert "sandbox allow-scripts allow-forms" in reply.headers["content-security-policy"]
        probe = _probe(top)
        assert probe["origin"] == "null", json.dumps(probe)
        assert probe["cookie"] == "blocked" and probe["popup"] == "blocked" and probe["csrf"] == "none"
        assert probe["fetched"] == "blocked"
        assert len(worker.page.context.pages) == 2  # no portal page was opened by the script


MARKUP_OUTPUT = json.dumps(
    {
        "humanLoopName": "loop-markup",
        "inputContent": {
            "note": "<script>window.crowdloopRan = true; document.title = 'ran';</script><img src=x "
            'onerror="window.crowdloopRan = true">'
        },
    }
).encode()


def test_object_presigned_as_html_never_runs_for_a_signed_in_worker(
    site: Site,  # noqa: F811
    server: RunningServer,
    browser: Browser,
) -> None:
    key = "a2i/fd/2026/12/05/00/00/00/loop-markup/output.json"
    path = server.settings.output_path / "isolation" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MARKUP_OUTPUT)
    _, group = site.team()
    url = server.client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "isolation",
            "Key": key,
            "ResponseContentType": "text/html",
            "ResponseContentDisposition": "inline",
        },
    )
    with open_worker(browser, site) as worker:
        worker.sign_in(site.worker(group))
        page = worker.page.context.new_page()
        with page.expect_download(timeout=10_000) as download:
            try:
                page.goto(url)
            except PlaywrightError as exc:  # a navigation that becomes a download is aborted
                assert "net::ERR_ABORTED" in str(exc) or "Download is starting" in str(exc), exc
        assert download.value.url == url
        assert not page.evaluate("window.crowdloopRan === true") and page.title() != "ran"
        headers = page.request.get(url).headers
        assert headers["content-type"] == "text/html" and headers["content-disposition"] == "attachment"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"].startswith("sandbox; default-src 'none'")
