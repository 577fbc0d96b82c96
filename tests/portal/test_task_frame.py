"""The task UI frame: signed URL, template + input rendering, asset rewrite, escaping, the
Content-Security-Policy (SQLite and PostgreSQL), and the static routes the rewritten URLs point at."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from crowdloop.clock import ManualClock
from crowdloop.portal.app import create_portal
from crowdloop.portal.assets import IMAGE_PLACEHOLDER
from crowdloop.portal.taskui import content_security_policy, rewrite_assets, template_sources
from crowdloop.portal.tokens import FRAME_TOKEN_SECONDS
from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]


def _task(
    services: Services, open_browser: OpenBrowser, template: str | None = None, content: dict[str, object] | None = None
) -> tuple[Browser, int, str]:
    job = make_job(services, template=template) if template else make_job(services)
    start_loop(services, job, content)
    add_worker(services, "frame@example.org")
    browser = open_browser()
    browser.sign_in("frame@example.org")
    assignment_id = browser.open_task(job.id)
    return browser, assignment_id, browser.frame_url(assignment_id)


def test_frame_renders_the_template_with_the_input(services: Services, open_browser: OpenBrowser) -> None:
    browser, _, url = _task(services, open_browser, content={"text": "Is the sky blue?"})
    frame = browser.client.get(url)
    assert frame.status_code == 200
    assert '<p class="prompt">Is the sky blue?</p>' in frame.text
    assert '<crowd-input name="label" label="Label" required>' in frame.text
    script = re.search(r'<script src="(/static/crowd-html-elements\.js\?v=[0-9a-f]+)"></script>', frame.text)
    assert script and "assets.crowd.aws" not in frame.text
    assert frame.headers["referrer-policy"] == "no-referrer"
    assert frame.headers["cache-control"] == "no-store"


def test_injected_script_in_the_input_is_inert(services: Services, open_browser: OpenBrowser) -> None:
    evil = '<script>parent.document.title="owned"</script><img src=x onerror=alert(1)>"\'&'
    browser, _, url = _task(services, open_browser, content={"text": evil})
    html = browser.client.get(url).text
    assert "<script>parent" not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;parent.document.title=&quot;owned&quot;&lt;/script&gt;"
        "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"
    ) in html


def test_frame_policy_allows_only_our_assets(services: Services, open_browser: OpenBrowser) -> None:
    browser, assignment_id, url = _task(services, open_browser)
    policy = browser.client.get(url).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'unsafe-inline' http://portal.test/static/"
    assert directives["connect-src"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["frame-ancestors"] == "http://portal.test"
    assert directives["img-src"] == "http://portal.test/static/ data: blob:"
    assert directives["sandbox"] == "allow-scripts allow-forms"  # opaque origin even when opened as a page
    page = browser.get(f"/tasks/{assignment_id}").text
    assert re.search(r'<iframe[^>]*\ssandbox="allow-scripts allow-forms"', page)  # the same rights either way


def test_grant_read_access_urls_are_the_only_extra_sources(services: Services, open_browser: OpenBrowser) -> None:
    template = '<img alt="photo" src="{{ task.input.image | grant_read_access }}"><crowd-form></crowd-form>'
    browser, _, url = _task(services, open_browser, template, {"image": "s3://bucket/pics/cat.png"})
    frame = browser.client.get(url)
    src = re.search(r'<img alt="photo" src="([^"]+)"', frame.text)
    assert src and src.group(1).startswith("http://127.0.0.1:8080/_crowdloop/blobs/bucket/pics/cat.png?expires=")
    policy = frame.headers["content-security-policy"]
    assert "img-src http://portal.test/static/ http://127.0.0.1:8080 data: blob:" in policy
    assert "connect-src http://127.0.0.1:8080;" in policy


def test_task_frame_sources_setting_adds_origins_for_input_urls(services: Services, open_browser: OpenBrowser) -> None:
    template = '<iframe title="video" src="{{ task.input.video }}"></iframe><crowd-form></crowd-form>'
    _, _, url = _task(services, open_browser, template, {"video": "https://www.youtube.com/embed/x"})
    assert "frame-src 'none'" in open_browser().client.get(url).headers["content-security-policy"]
    allowing = dataclasses.replace(
        services, settings=dataclasses.replace(services.settings, task_frame_sources="https://www.youtube.com")
    )
    stranger = Browser(create_portal(allowing))
    try:
        policy = stranger.client.get(url).headers["content-security-policy"]
    finally:
        stranger.close()
    assert "frame-src https://www.youtube.com;" in policy
    assert "img-src http://portal.test/static/ https://www.youtube.com data: blob:" in policy


def test_frames_on_their_own_origin_are_not_sandboxed_by_policy() -> None:
    assert "sandbox" not in content_security_policy(
        "https://frames.example", set(), ancestor="https://p.example", sandbox=False
    )
    assert content_security_policy("https://p.example", set()).endswith("; sandbox allow-scripts allow-forms")


def test_policy_narrows_grants_on_our_own_origin() -> None:
    policy = content_security_policy("https://p.example", {"https://p.example", "https://s3.example"})
    assert "img-src https://p.example/static/ https://p.example/_crowdloop/blobs/ https://s3.example data:" in policy


def test_every_aws_asset_alias_is_rewritten() -> None:
    template = (
        "".join(
            f'<script src="{u}"></script>'
            for u in (
                "https://assets.crowd.aws/crowd-html-elements.js",
                "https://assets.crowd.aws/crowd-html-elements-v2.js",
                "https://assets.crowd.aws/crowd-html-elements-v2s.js",
                "//assets.crowd.aws/gen-ai-components.js",
            )
        )
        + '<link rel="stylesheet" href="https://assets.crowd.aws/css/crowd-html-elements-v2.css">'
    )
    rewritten = rewrite_assets(template, "/s.js", "/s.css")
    assert rewritten.count('src="/s.js"') == 4 and 'href="/s.css"' in rewritten
    assert "assets.crowd.aws" not in rewritten


def test_frame_url_needs_its_token_not_cookies(
    services: Services, open_browser: OpenBrowser, clock: ManualClock
) -> None:
    browser, assignment_id, url = _task(services, open_browser)
    stranger = open_browser()  # no cookies at all
    assert stranger.client.get(url).status_code == 200
    assert stranger.client.get(f"/tasks/{assignment_id}/frame").status_code == 403
    worker, expires, mac = url.split("token=")[1].split(".")
    flipped_last = "1" if mac[-1] == "0" else "0"  # must differ from the real MAC's last digit
    tampered = [
        f"{int(worker) + 1}.{expires}.{mac}",
        f"{worker}.{int(expires) + 999}.{mac}",
        f"{worker}.{expires}.{mac[:-1]}{flipped_last}",
        "garbage",
    ]
    for token in tampered:
        assert stranger.client.get(f"/tasks/{assignment_id}/frame?token={token}").status_code == 403
    clock.advance(FRAME_TOKEN_SECONDS + 1)
    assert stranger.client.get(url).status_code == 403
    assert browser.client.get(browser.frame_url(assignment_id)).status_code == 200  # a reload gets a new one


def test_template_errors_are_shown_in_the_frame(services: Services, open_browser: OpenBrowser) -> None:
    template = "<crowd-form>{{ task.input.text | no_such_filter }}</crowd-form>"
    browser, _, url = _task(services, open_browser, template)
    frame = browser.client.get(url)
    assert frame.status_code == 200
    assert 'class="crowdloop-render-errors"' in frame.text and "UndefinedFilter" in frame.text


def _directives(policy: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


def test_policy_allows_the_sources_the_template_names(services: Services, open_browser: OpenBrowser) -> None:
    template = """<link rel="stylesheet" href="https://styles.example/a/site.css">
<a href="https://docs.example/help">help</a>
<img alt="example" src="https://pics.example/examples/cat.jpg?size=big">
<img alt="input" src="{{ task.input.url }}">
<crowd-form><crowd-input name="x" label="X"></crowd-input></crowd-form>"""
    browser, _, url = _task(services, open_browser, template, {"url": "https://evil.example/pixel.png"})
    frame = browser.client.get(url)
    assert 'src="https://evil.example/pixel.png"' in frame.text  # rendered, but the policy will not load it
    directives = _directives(frame.headers["content-security-policy"])
    named = "https://pics.example/examples/cat.jpg https://styles.example/a/site.css"
    for name in ("img-src", "media-src"):
        assert directives[name] == f"http://portal.test/static/ {named} data: blob:"
    assert directives["script-src"] == f"'unsafe-inline' http://portal.test/static/ {named}"
    assert directives["style-src"] == f"'unsafe-inline' http://portal.test/static/ {named}"
    assert directives["font-src"] == f"http://portal.test/static/ {named} data:"
    assert directives["connect-src"] == directives["frame-src"] == "'none'"
    assert "evil.example" not in frame.headers["content-security-policy"]
    assert "docs.example" not in frame.headers["content-security-policy"]  # a link is not loaded


def test_template_sources_are_exact_urls_or_the_folder_before_liquid() -> None:
    template = """<img src='https://a.example/x/one.png'><img src=https://b.example/two.png>
<video poster="//c.example/poster.jpg" src="https://c.example/v/{{ task.input.name }}.mp4"></video>
<img srcset="https://d.example/s-1x.png 1x, https://d.example/s-2x.png 2x" src="data:image/png;base64,AA">
<img src="https://{{ task.input.host }}/x.png"><img src="https://e.example/a;b,c.png?x=1&amp;y=2">
<script src="https://F.Example:8443/lib.js"></script><img data-src="https://g.example/lazy.png">
<img src="/relative.png"><img src="javascript:alert(1)"><link rel="icon" href="https://h.example/i.ico">"""
    assert template_sources(template) == {
        "https://a.example/x/one.png",
        "https://b.example/two.png",
        "https://c.example/poster.jpg",
        "https://c.example/v/",
        "https://d.example/s-1x.png",
        "https://d.example/s-2x.png",
        "https://e.example/a%3Bb%2Cc.png",
        "https://f.example:8443/lib.js",
        "https://h.example/i.ico",
    }


def test_policy_keeps_granted_and_named_sources_apart() -> None:
    policy = _directives(
        content_security_policy("https://p.example", {"https://s3.example"}, {"https://pics.example/cat.jpg"})
    )
    assert policy["img-src"] == "https://p.example/static/ https://pics.example/cat.jpg https://s3.example data: blob:"
    assert policy["script-src"] == "'unsafe-inline' https://p.example/static/ https://pics.example/cat.jpg"
    assert policy["connect-src"] == policy["frame-src"] == "https://s3.example"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"


def test_every_aws_and_cdn_url_points_at_the_portal() -> None:
    template = """<img src="https://assets.crowd.aws/images/a2i-console/correct-value.png">
<link rel="stylesheet" href="https://assets.crowd.aws/css/other.css">
<script src="https://code.jquery.com/jquery-3.6.0.min.js"></script>
<script src="//cdnjs.cloudflare.com/ajax/libs/node-uuid/1.4.8/uuid.min.js"></script>
<script src="http://d3js.org/d3.v6.min.js"></script><script src="https://platform.twitter.com/widgets.js"></script>
<script src="https://d3js.org/d3.v6.min.js.map"></script><script src="https://code.jquery.com/jquery-1.0.js"></script>"""
    rewritten = rewrite_assets(template, "/s.js", "/s.css")
    assert 'src="/static/aws/images/a2i-console/correct-value.png"' in rewritten
    assert 'href="/static/aws/css/other.css"' in rewritten
    for name in (
        "code.jquery.com/jquery-3.6.0.min.js",
        "cdnjs.cloudflare.com/ajax/libs/node-uuid/1.4.8/uuid.min.js",
        "d3js.org/d3.v6.min.js",
        "platform.twitter.com/widgets.js",
    ):
        assert f'src="/static/cdn/{name}"' in rewritten
    # URLs crowdloop does not know stay as they are (and the policy does not allow them)
    assert 'src="https://d3js.org/d3.v6.min.js.map"' in rewritten
    assert 'src="https://code.jquery.com/jquery-1.0.js"' in rewritten
    assert "assets.crowd.aws" not in rewritten


def test_aws_assets_are_served(open_browser: OpenBrowser) -> None:
    client = open_browser().client
    image = client.get("/static/aws/images/a2i-console/correct-value.png")
    assert image.status_code == 200 and image.content == IMAGE_PLACEHOLDER
    assert image.headers["content-type"] == "image/svg+xml"
    assert image.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/aws/css/crowd-html-elements-v2.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = client.get("/static/aws/no/such/thing.bin")
    assert missing.status_code == 404 and "assets.crowd.aws/no/such/thing.bin" in missing.text


def _browser_with_cdn_cache(services: Services, folder: Path) -> Browser:
    """A browser on a portal whose cdn_cache setting is `folder`."""
    settings = dataclasses.replace(services.settings, cdn_cache=str(folder))
    return Browser(create_portal(dataclasses.replace(services, settings=settings)))


def test_cdn_libraries_are_served_from_the_cache(services: Services, tmp_path: Path) -> None:
    cached = tmp_path / "cdn" / "jquery@3.6.0" / "dist" / "jquery.min.js"
    cached.parent.mkdir(parents=True)
    cached.write_text("/* jquery from the npm package */")
    browser = _browser_with_cdn_cache(services, tmp_path / "cdn")
    client = browser.client
    script = client.get("/static/cdn/code.jquery.com/jquery-3.6.0.min.js")
    assert script.status_code == 200 and script.text == "/* jquery from the npm package */"
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in script.headers["cache-control"]
    twitter = client.get("/static/cdn/platform.twitter.com/widgets.js")
    assert twitter.status_code == 200 and "not loaded offline" in twitter.text
    unknown = client.get("/static/cdn/evil.example/x.js")
    assert unknown.status_code == 404 and "not a library crowdloop serves" in unknown.text
    browser.close()


def test_a_library_that_cannot_be_fetched_is_a_clear_error(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    browser = _browser_with_cdn_cache(services, tmp_path / "cdn")  # an empty cache
    monkeypatch.setenv("PATH", str(tmp_path))  # and no npm
    with caplog.at_level(logging.ERROR, logger="crowdloop.portal.static"):
        reply = browser.client.get("/static/cdn/d3js.org/d3.v6.min.js")
    browser.close()
    assert reply.status_code == 503
    assert reply.text == (
        "crowdloop could not fetch https://d3js.org/d3.v6.min.js: npm is not installed, so d3@6.7.0 cannot be fetched"
    )
    assert reply.headers["cache-control"] == "no-store"
    assert any(
        "https://d3js.org/d3.v6.min.js" in r.getMessage() and "npm is not installed" in r.getMessage()
        for r in caplog.records
    )


def test_task_frame_origin_serves_an_unsandboxed_cross_origin_frame(services: Services) -> None:
    """(Without the setting the frame is sandboxed on the portal's origin: tests/portal/test_tasks.py.)"""
    settings = dataclasses.replace(services.settings, task_frame_origin="http://tasks.portal.test")
    other = dataclasses.replace(services, settings=settings)
    job = make_job(other)
    start_loop(other, job)
    add_worker(other, "cross@example.org")
    browser = Browser(create_portal(other))
    try:
        browser.sign_in("cross@example.org")
        assignment_id = browser.open_task(job.id)
        page = browser.get(f"/tasks/{assignment_id}")
        iframe = re.search(r"<iframe[^>]*>", page.text)
        assert iframe and 'src="http://tasks.portal.test/tasks/' in iframe.group(0)
        assert "sandbox" not in iframe.group(0)
        assert "frame-src 'self' http://tasks.portal.test;" in page.headers["content-security-policy"]
        frame = browser.client.get(browser.frame_url(assignment_id))  # the same server under the frame's name
        policy = frame.headers["content-security-policy"]
        assert f"frame-ancestors {settings.portal_url}" in policy
        assert "script-src 'unsafe-inline' http://tasks.portal.test/static/" in policy  # the frame's own origin
    finally:
        browser.close()
