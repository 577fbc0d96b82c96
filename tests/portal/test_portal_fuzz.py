"""Property-based fuzzing of the portal's routes (SQLite and PostgreSQL): a signed-in worker holding a task
sends odd ids, query strings, form values and JSON bodies to every route; no answer may be a 500 (the
test client re-raises any exception the app lets escape). Derandomized and bounded like test_fuzz.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crowdloop.runtime import Services
from tests.portal.kit import ORIGIN, Browser, add_worker, make_job, start_loop

OpenBrowser = Callable[[], Browser]

_ODD = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\r\n",
        "\t",
        "%00",
        "\ud800",
        "\U0001f600",
        "//evil.example/",
        "/\t/evil.example",
        "../..",
        "<script>",
        "",
        " ",
        "\\",
        "9" * 30,
        "-1",
        "1e9",
    ]
)
TEXT = st.one_of(st.text(max_size=30), _ODD)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def _segment(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def test_no_portal_answer_is_a_500(services: Services, open_browser: OpenBrowser) -> None:
    job = make_job(services)
    for _ in range(3):
        start_loop(services, job)
    add_worker(services, "fuzz@example.org")
    browser = open_browser()
    assert browser.sign_in("fuzz@example.org").status_code == 303
    held = browser.open_task(job.id)
    ids = st.one_of(
        st.sampled_from([str(job.id), str(held), "1", "2147483647", "2147483648", "0"]),
        st.integers(0, 2**70).map(str),
        TEXT.map(_segment),
    )
    routes: list[tuple[str, str]] = [
        ("GET", "/"),
        ("GET", "/?notice={q}"),
        ("GET", "/signin?next={q}"),
        ("POST", "/signin"),
        ("GET", "/signin/oidc/{id}?next={q}"),
        ("GET", "/signin/oidc/callback?code={q}&state={q}"),
        ("GET", "/invite/{id}"),
        ("POST", "/invite/{id}"),
        ("POST", "/jobs/{id}/start"),
        ("GET", "/jobs/{id}/empty"),
        ("GET", "/tasks/{id}"),
        ("GET", "/tasks/{id}/frame?token={q}"),
        ("POST", "/tasks/{id}/submit"),
        ("POST", "/tasks/{id}/release"),
        ("POST", "/tasks/{id}/decline"),
        ("GET", "/static/{id}"),
        ("GET", "/{id}"),
    ]

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def property_(data: st.DataObject) -> None:
        method, template = data.draw(st.sampled_from(routes), label="route")
        path = template.replace("{id}", data.draw(ids, label="id")).replace(
            "{q}", _segment(data.draw(TEXT, label="query"))
        )
        csrf = data.draw(st.sampled_from([browser.csrf, browser.csrf, "", "x"]), label="csrf")
        if method == "GET":
            response = browser.client.get(path)
        elif path.endswith("/submit"):
            body: Any = {
                "answer": data.draw(JSON_VALUES, label="answer"),
                "timeSpentInSeconds": data.draw(JSON_VALUES, label="time"),
                "lease": data.draw(st.sampled_from([*browser.leases.values(), "x", None]) | TEXT),
            }
            raw = data.draw(st.sampled_from([None, b"{", b"[]", b"\xff", b'{"answer": "\\ud800"}']), label="raw")
            content = raw if raw is not None else json.dumps(body).encode("utf-8", "surrogatepass")
            response = browser.client.post(
                path,
                content=content,
                headers={"Content-Type": "application/json", "X-CSRF-Token": csrf, "Origin": ORIGIN},
            )
        else:
            form = {name: data.draw(TEXT, label=name) for name in ("email", "password", "next", "password2")}
            encoded = "&".join(f"{k}={_segment(v)}" for k, v in {**form, "csrf_token": csrf}.items())
            response = browser.client.post(
                path,
                content=encoded.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN},
            )
        assert response.status_code < 500, (method, path, response.status_code, response.text[:300])

    property_()
