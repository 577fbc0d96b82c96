"""The task UI frame: signed URL, template + input rendering, asset rewrite, escaping and the
Content-Security-Policy (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable

from crowdloop.clock import ManualClock
from crowdloop.portal.taskui import content_security_policy, rewrite_assets
from crowdloop.portal.tokens import FRAME_TOKEN_SECONDS
from crowdloop.runtime import Services
from tests.portal.kit import Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]


def _task(services: Services, open_browser: OpenBrowser, template: str | None = None,
          content: dict[str, object] | None = None) -> tuple[Browser, int, str]:
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
    assert ("&lt;script&gt;parent.document.title=&quot;owned&quot;&lt;/script&gt;"
            "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;") in html


def test_frame_policy_allows_only_our_assets(services: Services, open_browser: OpenBrowser) -> None:
    browser, _, url = _task(services, open_browser)
    policy = browser.client.get(url).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'unsafe-inline' http://portal.test/static/"
    assert directives["connect-src"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["frame-ancestors"] == "http://portal.test"
    assert directives["img-src"] == "http://portal.test/static/ data: blob:"


def test_grant_read_access_urls_are_the_only_extra_sources(services: Services,
                                                           open_browser: OpenBrowser) -> None:
    template = '<img alt="photo" src="{{ task.input.image | grant_read_access }}"><crowd-form></crowd-form>'
    browser, _, url = _task(services, open_browser, template, {"image": "s3://bucket/pics/cat.png"})
    frame = browser.client.get(url)
    src = re.search(r'<img alt="photo" src="([^"]+)"', frame.text)
    assert src and src.group(1).startswith("http://127.0.0.1:8080/_crowdloop/blobs/bucket/pics/cat.png?expires=")
    policy = frame.headers["content-security-policy"]
    assert "img-src http://portal.test/static/ http://127.0.0.1:8080 data: blob:" in policy
    assert "connect-src http://127.0.0.1:8080;" in policy


def test_policy_narrows_grants_on_our_own_origin() -> None:
    policy = content_security_policy("https://p.example", {"https://p.example", "https://s3.example"})
    assert ("img-src https://p.example/static/ https://p.example/_crowdloop/blobs/ https://s3.example data:"
            in policy)


def test_every_aws_asset_alias_is_rewritten() -> None:
    template = "".join(f'<script src="{u}"></script>' for u in (
        "https://assets.crowd.aws/crowd-html-elements.js", "https://assets.crowd.aws/crowd-html-elements-v2.js",
        "https://assets.crowd.aws/crowd-html-elements-v2s.js", "//assets.crowd.aws/gen-ai-components.js",
    )) + '<link rel="stylesheet" href="https://assets.crowd.aws/css/crowd-html-elements-v2.css">'
    rewritten = rewrite_assets(template, "/s.js", "/s.css")
    assert rewritten.count('src="/s.js"') == 4 and 'href="/s.css"' in rewritten
    assert "assets.crowd.aws" not in rewritten


def test_frame_url_needs_its_token_not_cookies(services: Services, open_browser: OpenBrowser,
                                               clock: ManualClock) -> None:
    browser, assignment_id, url = _task(services, open_browser)
    stranger = open_browser()  # no cookies at all
    assert stranger.client.get(url).status_code == 200
    assert stranger.client.get(f"/tasks/{assignment_id}/frame").status_code == 403
    worker, expires, mac = url.split("token=")[1].split(".")
    flipped_last = "1" if mac[-1] == "0" else "0"  # must differ from the real MAC's last digit
    tampered = [f"{int(worker) + 1}.{expires}.{mac}", f"{worker}.{int(expires) + 999}.{mac}",
                f"{worker}.{expires}.{mac[:-1]}{flipped_last}", "garbage"]
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
