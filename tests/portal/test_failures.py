"""Every failure inside a portal endpoint is answered by the portal itself: an outage 503 with Retry-After,
anything else a logged 500, as a page or as JSON for JSON requests (the keep-alive side is tested against
a real server in tests/e2e/test_outage.py)."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from starlette.requests import Request
from starlette.responses import Response

from crowdloop.errors import Unavailable
from crowdloop.portal.app import create_portal
from crowdloop.portal.web import Portal, Visit, answer_failures
from crowdloop.runtime import Services


def _request(content_type: str = "") -> Request:
    headers = [(b"content-type", content_type.encode())] if content_type else []
    return Request(
        {"type": "http", "method": "POST", "path": "/tasks/1/submit", "headers": headers, "query_string": b""}
    )


def _answer(services: Services, request: Request, error: Exception, *, frame: bool = False) -> Response:
    portal: Portal = create_portal(services).state.portal

    async def failing() -> Response:
        raise error

    async def run() -> Response:
        return await answer_failures(Visit(portal, request), failing(), frame=frame)

    # a thread of its own: a browser test before this one in the same worker may leave a loop in this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, run).result()


def test_outage_is_503_json_for_json_requests(services: Services) -> None:
    response = _answer(services, _request("application/json"), Unavailable(retry_after_seconds=7))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"] == "application/json"
    assert "temporarily unavailable" in json.loads(bytes(response.body))["error"]


def test_outage_is_503_page_otherwise(services: Services) -> None:
    response = _answer(services, _request(), Unavailable())
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert response.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in bytes(response.body).decode()
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_frame_outage_is_a_bare_page_the_frame_can_show(services: Services) -> None:
    response = _answer(services, _request(), Unavailable(), frame=True)
    assert response.status_code == 503
    assert response.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def test_unexpected_failure_is_a_logged_500(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "crowdloop.portal"):
        response = _answer(services, _request("application/json"), RuntimeError("boom"))
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert "went wrong" in json.loads(bytes(response.body))["error"]
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)
    page = _answer(services, _request(), RuntimeError("boom"))
    assert page.status_code == 500 and "Something went wrong" in bytes(page.body).decode()
