"""The subscriptions endpoints over HTTP: create, list, get, delete, and every refusal with its status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crowdloop import consoleauth
from tests.events.receivers import HttpReceiver
from tests.eventsapi.kit import API, LiveServer, serve

STARTED = {"detail-type": ["crowdloop HumanLoop Started"]}


def _create(live: LiveServer, target: str, pattern: object = STARTED, **extra: object) -> tuple[int, Any]:
    reply = live.call(
        "POST", f"{API}/subscriptions", {"kind": "webhook", "target": target, "pattern": pattern, **extra}
    )
    return reply.status, reply.json()


def test_create_list_get_delete(live: LiveServer, receiver: HttpReceiver) -> None:
    status, created = _create(live, receiver.url(), STARTED, description="loops starting")
    assert status == 201, created
    assert created["secret"].startswith("whsec_")
    subscription = created["subscription"]
    assert subscription["target"] == receiver.url()
    assert json.loads(subscription["pattern"]) == STARTED  # an object was serialised
    assert subscription["createdBy"] == live.key.access_key_id
    assert subscription["createdAt"].endswith("Z")
    sub_id = subscription["id"]

    status2, second = _create(live, receiver.url("/other"), json.dumps({"source": ["aws.sagemaker"]}))
    assert status2 == 201, second
    listed = live.call("GET", f"{API}/subscriptions")
    assert listed.status == 200
    assert listed.headers["content-type"] == "application/json"
    assert listed.headers["cache-control"] == "no-store"
    assert listed.headers["x-content-type-options"] == "nosniff"
    rows = listed.json()["subscriptions"]
    assert [row["id"] for row in rows] == [sub_id, second["subscription"]["id"]]
    assert all("secret" not in row for row in rows)

    got = live.call("GET", f"{API}/subscriptions/{sub_id}")
    assert got.status == 200
    assert got.json()["subscription"]["summary"] == {"pending": 0, "failed": 0}
    assert got.json()["subscription"]["description"] == "loops starting"

    assert live.call("DELETE", f"{API}/subscriptions/{sub_id}").status == 204
    gone = live.call("GET", f"{API}/subscriptions/{sub_id}")
    assert gone.status == 404
    assert gone.json()["__type"] == "ResourceNotFoundException"
    assert live.call("DELETE", f"{API}/subscriptions/{sub_id}").status == 404
    assert live.call("GET", f"{API}/subscriptions/99999999999999999999").status == 404
    assert [row["id"] for row in live.call("GET", f"{API}/subscriptions").json()["subscriptions"]] == [
        second["subscription"]["id"]
    ]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"pattern": '{"source": "not-a-list"}'}, "pattern", "source"),
        ({"pattern": "{not json"}, "pattern", "not valid JSON"),
        ({"pattern": None}, "pattern", "required"),
        ({"target": "ftp://127.0.0.1/hook"}, "target", "scheme is 'ftp'"),
        ({"target": "http://127.0.0.1:9/hook"}, "target", "cannot be reached"),  # nobody listens on port 9
        ({"kind": "carrier-pigeon"}, "kind", "'kind'"),
        ({"colour": "blue"}, "colour", "'colour'"),
        ({"description": 7}, "description", "'description'"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    live: LiveServer, receiver: HttpReceiver, body: dict[str, object], field: str, says: str
) -> None:
    sent = {"kind": "webhook", "target": receiver.url(), "pattern": STARTED, **body}
    reply = live.call("POST", f"{API}/subscriptions", {k: v for k, v in sent.items() if v is not None})
    assert reply.status == 400, reply.body
    answer = reply.json()
    assert answer["__type"] == "ValidationException"
    assert answer["field"] == field
    assert says in answer["message"]
    assert live.call("GET", f"{API}/subscriptions").json()["subscriptions"] == []


def test_a_body_that_is_not_json_and_one_too_large(live: LiveServer) -> None:
    reply = live.call("POST", f"{API}/subscriptions", b"{nope")
    assert (reply.status, reply.json()["field"]) == (400, "body")
    huge = live.call("POST", f"{API}/subscriptions", b"x" * (65 * 1024))
    assert huge.status == 413
    assert huge.json()["__type"] == "RequestEntityTooLargeException"
    assert huge.headers["content-type"] == "application/json"


def test_a_private_address_needs_the_setting(tmp_path: Path, db_url: str, receiver: HttpReceiver) -> None:
    with serve(tmp_path, db_url) as strict:
        reply = strict.call("POST", f"{API}/subscriptions", {"target": receiver.url(), "pattern": STARTED})
    assert reply.status == 400
    assert reply.json()["field"] == "target"
    assert "webhook_allow_private_targets" in reply.json()["message"]


def test_without_auth_401_and_a_wrong_signature_403(live: LiveServer) -> None:
    missing = live.call("GET", f"{API}/subscriptions", sign=False)
    assert missing.status == 401
    assert missing.json()["__type"] == "MissingAuthenticationTokenException"
    assert missing.headers["cache-control"] == "no-store"
    wrong = live.call("GET", f"{API}/subscriptions", secret="not-the-secret")
    assert wrong.status == 403
    assert wrong.json()["__type"] == "InvalidSignatureException"
    signed_other_body = live.signed_headers("POST", f"{API}/subscriptions", b'{"target": "http://a.test"}')
    tampered = live.call(
        "POST", f"{API}/subscriptions", {"target": "http://b.test"}, sign=False, headers=signed_other_body
    )
    assert tampered.status == 403  # the body is part of the signature
    other_service = live.call(
        "GET", f"{API}/subscriptions", sign=False, headers=_signed_for(live, "sagemaker", "GET", f"{API}/subscriptions")
    )
    assert other_service.status == 403


def _signed_for(live: LiveServer, service: str, method: str, path: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=live.url + path, headers={"Host": f"127.0.0.1:{live.port}"})
    SigV4Auth(Credentials(live.key.access_key_id, live.key.secret_access_key), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_a_console_session_reads_and_changes_with_its_csrf_token(live: LiveServer, receiver: HttpReceiver) -> None:
    token, session = consoleauth.start_session(live.app.services, live.key.access_key_id)
    cookie = {"Cookie": f"crowdloop_console={token}"}
    origin = {"Origin": live.url}
    listed = live.call("GET", f"{API}/subscriptions", sign=False, headers=cookie)
    assert listed.status == 200
    body = {"target": receiver.url(), "pattern": STARTED}
    no_csrf = live.call("POST", f"{API}/subscriptions", body, sign=False, headers={**cookie, **origin})
    assert no_csrf.status == 403
    assert no_csrf.json()["__type"] == "AccessDeniedException"
    csrf = {"X-CSRF-Token": session.csrf_token}
    foreign = live.call(
        "POST", f"{API}/subscriptions", body, sign=False, headers={**cookie, **csrf, "Origin": "http://evil.test"}
    )
    assert foreign.status == 403
    no_origin = live.call("POST", f"{API}/subscriptions", body, sign=False, headers={**cookie, **csrf})
    assert no_origin.status == 403
    assert live.call("GET", f"{API}/subscriptions").json()["subscriptions"] == []
    made = live.call("POST", f"{API}/subscriptions", body, sign=False, headers={**cookie, **csrf, **origin})
    assert made.status == 201, made.body
    assert made.json()["subscription"]["createdBy"] == f"console:{live.key.access_key_id}"
    sub_id = made.json()["subscription"]["id"]
    refused = live.call("DELETE", f"{API}/subscriptions/{sub_id}", sign=False, headers=cookie)
    assert refused.status == 403
    deleted = live.call("DELETE", f"{API}/subscriptions/{sub_id}", sign=False, headers={**cookie, **csrf, **origin})
    assert deleted.status == 204
    ended = live.call("GET", f"{API}/subscriptions", sign=False, headers={"Cookie": "crowdloop_console=unknown"})
    assert ended.status == 401


def test_unknown_routes_and_methods_answer_json(live: LiveServer) -> None:
    missing = live.call("GET", f"{API}/nothing-here")
    assert missing.status == 404
    assert missing.json()["__type"] == "NotFoundException"
    wrong_method = live.call("PUT", f"{API}/subscriptions")
    assert wrong_method.status == 405
    assert wrong_method.headers["x-content-type-options"] == "nosniff"


def test_auth_off_serves_unsigned_requests_from_no_web_page(tmp_path: Path, db_url: str) -> None:
    with serve(tmp_path, db_url, auth="off") as open_server:
        plain = open_server.call("GET", f"{API}/subscriptions", sign=False)
        assert plain.status == 200
        assert plain.json() == {"subscriptions": []}
        page = open_server.call("GET", f"{API}/subscriptions", sign=False, headers={"Origin": "http://evil.test"})
        assert page.status == 403
        rebound = open_server.call("GET", f"{API}/subscriptions", sign=False, headers={"Host": "evil.test:80"})
        assert rebound.status == 421
