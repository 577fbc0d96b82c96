"""crowdloop.urls: links are filled in from the route declarations, so each link matches its route."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import pytest
from starlette.convertors import register_url_convertor
from starlette.routing import Match, Route

from crowdloop import urls
from crowdloop.portal.app import RowId
from crowdloop.urls import PublicUrls


async def _endpoint() -> None:  # pragma: no cover - never called
    pass


def _matches(route: str, link: str, method: str = "GET") -> dict[str, object] | None:
    """The path parameters when the server would answer `link` with `route` (it matches the decoded path)."""
    register_url_convertor("id", RowId())
    match, child = Route(route, _endpoint, methods=[method]).matches(
        {"type": "http", "path": unquote(link), "method": method, "root_path": ""}
    )
    return child["path_params"] if match is Match.FULL else None


@pytest.mark.parametrize(
    ("route", "link", "params"),
    [
        (urls.JOB_START, lambda: urls.job_start(12), {"job": 12}),
        (urls.JOB_EMPTY, lambda: urls.job_empty(12), {"job": 12}),
        (urls.TASK, lambda: urls.task(7), {"assignment": 7}),
        (urls.TASK_SUBMIT, lambda: urls.task_submit(7), {"assignment": 7}),
        (urls.TASK_RELEASE, lambda: urls.task_release(7), {"assignment": 7}),
        (urls.TASK_DECLINE, lambda: urls.task_decline(7), {"assignment": 7}),
        (urls.TASK_FRAME, lambda: urls.task_frame(7, "t").partition("?")[0], {"assignment": 7}),
        (urls.OIDC_START, lambda: urls.oidc_start(3).partition("?")[0], {"workforce": 3}),
        (urls.STATIC, lambda: urls.static("crowd/a b.js", "v1").partition("?")[0], {"name": "crowd/a b.js"}),
    ],
)
def test_each_link_matches_its_route(route: str, link: Callable[[], str], params: dict[str, object]) -> None:
    assert _matches(route, link()) == params


def test_public_urls_are_the_routes_on_the_public_base() -> None:
    public = PublicUrls("https://portal.example")
    token = "abc-_123"
    assert public.invitation(token) == "https://portal.example/invite/abc-_123"
    assert _matches(urls.INVITATION, public.invitation(token).removeprefix(public.base)) == {"token": token}
    assert public.template("ab" * 32) == "https://portal.example/_crowdloop/templates/" + "ab" * 32
    assert public.blob("my bucket", "a/b c.png", 10, "sig") == (
        "https://portal.example/_crowdloop/blobs/my%20bucket/a/b%20c.png?expires=10&signature=sig"
    )
    assert public.oidc_callback() == "https://portal.example/signin/oidc/callback"
    assert public.signin() == "https://portal.example/signin"


def test_fill_encodes_values_and_keeps_slashes_only_in_path_parameters() -> None:
    assert urls.fill(urls.INVITATION, token="a/b?c") == "/invite/a%2Fb%3Fc"
    assert urls.fill(urls.BLOB, bucket="b/x", key="k/y z") == "/_crowdloop/blobs/b%2Fx/k/y%20z"


def test_portal_query_links() -> None:
    assert urls.signin() == "/signin"
    assert urls.signin(next_path="/tasks/1") == "/signin?next=/tasks/1"
    assert urls.signin(signed_out=4) == "/signin?signed_out=4"
    assert urls.home() == "/" and urls.home("released") == "/?notice=released"
    assert urls.oidc_start(3) == "/signin/oidc/3"
    assert urls.oidc_start(3, "/tasks/9") == "/signin/oidc/3?next=/tasks/9"
    assert urls.task_frame(7, "tok", "https://frames.example") == "https://frames.example/tasks/7/frame?token=tok"
