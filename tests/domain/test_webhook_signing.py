"""Standard Webhooks signatures: what crowdloop signs, the `standardwebhooks` library verifies (and refuses
when the body, the secret or the timestamp is not the one signed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crowdloop import webhook_signing
from crowdloop.errors import InvalidInput
from crowdloop.secret import Secret

# The example of the Standard Webhooks reference libraries' tests: secret, id, timestamp, body, signature.
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TIMESTAMP = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

BODY = b'{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"x"}'


def _now() -> datetime:
    return datetime.now(UTC)


def test_the_reference_example_gives_the_documented_signature() -> None:
    headers = webhook_signing.sign(EXAMPLE_SECRET, EXAMPLE_ID, EXAMPLE_TIMESTAMP, EXAMPLE_BODY)
    assert headers == {
        "webhook-id": EXAMPLE_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": EXAMPLE_SIGNATURE,
    }
    when = datetime.fromtimestamp(EXAMPLE_TIMESTAMP, UTC)
    assert Webhook(EXAMPLE_SECRET).sign(EXAMPLE_ID, when, EXAMPLE_BODY) == EXAMPLE_SIGNATURE


def test_the_library_verifies_what_we_sign() -> None:
    secret = webhook_signing.generate_secret()
    headers = webhook_signing.sign(secret, "evt-1", _now(), BODY)
    assert Webhook(secret.reveal()).verify(BODY, headers) == {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "x",
    }


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=24, max_size=64),
    msg_id=st.from_regex(r"[A-Za-z0-9_:-]{1,64}", fullmatch=True),
    body=st.binary(max_size=2000),
    skew=st.integers(min_value=-240, max_value=240),
)
def test_the_library_verifies_any_key_id_and_body(key: bytes, msg_id: str, body: bytes, skew: int) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    assert webhook_signing.parse_secret(secret) == key
    headers = webhook_signing.sign(secret, msg_id, _now() + timedelta(seconds=skew), body)
    assert Webhook(secret).verify(body, headers, json_parse=False) is None


def test_a_tampered_body_is_refused() -> None:
    secret = webhook_signing.generate_secret()
    headers = webhook_signing.sign(secret, "evt-1", _now(), BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret.reveal()).verify(BODY.replace(b'"x"', b'"y"'), headers)


def test_another_secret_is_refused() -> None:
    headers = webhook_signing.sign(webhook_signing.generate_secret(), "evt-1", _now(), BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(webhook_signing.generate_secret().reveal()).verify(BODY, headers)


def test_an_old_timestamp_is_refused_and_a_changed_one_does_not_verify() -> None:
    secret = webhook_signing.generate_secret().reveal()
    old = webhook_signing.sign(secret, "evt-1", _now() - timedelta(minutes=6), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, old)
    fresh = webhook_signing.sign(secret, "evt-1", _now() - timedelta(seconds=30), BODY)
    moved = {**fresh, "webhook-timestamp": str(int(fresh["webhook-timestamp"]) + 1)}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY, moved)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    new, old = webhook_signing.generate_secret(), webhook_signing.generate_secret()
    headers = webhook_signing.sign([new, old], "evt-1", _now(), BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(one.startswith("v1,") for one in signatures)
    for secret in (new, old):
        assert Webhook(secret.reveal()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_signing.generate_secret().reveal()).verify(BODY, headers)


def test_a_timestamp_is_whole_unix_seconds_in_any_timezone() -> None:
    when = datetime(2026, 12, 6, 7, 0, 0, 999_000, tzinfo=timezone(timedelta(hours=1)))
    headers = webhook_signing.sign(EXAMPLE_SECRET, "evt-1", when, b"")
    assert headers["webhook-timestamp"] == str(int(datetime(2026, 12, 6, 6, 0, 0, tzinfo=UTC).timestamp()))
    with pytest.raises(InvalidInput, match="timezone-aware") as caught:
        webhook_signing.sign(EXAMPLE_SECRET, "evt-1", datetime(2026, 12, 6), b"")
    assert caught.value.field == "timestamp"


def test_generated_secrets_are_random_32_byte_keys_and_masked() -> None:
    one, two = webhook_signing.generate_secret(), webhook_signing.generate_secret()
    assert one != two
    assert one.reveal().startswith("whsec_")
    assert len(webhook_signing.parse_secret(one)) == 32
    assert "whsec" not in repr(one) and "whsec" not in str(one)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "must start with 'whsec_'"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw", "standard base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "standard base64"),  # bad padding
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw_-", "standard base64"),  # base64url is not the format
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwé", "standard base64"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "24 to 64 bytes; it encodes 23"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "24 to 64 bytes; it encodes 65"),
        ("whsec_", "24 to 64 bytes; it encodes 0"),
    ],
)
def test_malformed_secrets_are_refused(secret: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        webhook_signing.parse_secret(secret, field="signingSecret")
    assert caught.value.field == "signingSecret"
    assert "signingSecret" in caught.value.message


def test_the_secret_bounds_are_accepted() -> None:
    for size in (24, 64):
        assert webhook_signing.parse_secret("whsec_" + base64.b64encode(b"k" * size).decode()) == b"k" * size


@pytest.mark.parametrize("msg_id", ["", "evt.1", "evt 1", "évt", "x" * 257, "evt\n1"])
def test_message_ids_that_cannot_be_a_header_are_refused(msg_id: str) -> None:
    with pytest.raises(InvalidInput, match="message id") as caught:
        webhook_signing.sign(EXAMPLE_SECRET, msg_id, EXAMPLE_TIMESTAMP, b"")
    assert caught.value.field == "msgId"


def test_no_secret_a_negative_timestamp_or_a_text_body_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one secret"):
        webhook_signing.sign([], "evt-1", EXAMPLE_TIMESTAMP, b"")
    with pytest.raises(InvalidInput, match="non-negative"):
        webhook_signing.sign(EXAMPLE_SECRET, "evt-1", -1, b"")
    with pytest.raises(InvalidInput, match="must be bytes"):
        webhook_signing.sign(EXAMPLE_SECRET, "evt-1", EXAMPLE_TIMESTAMP, "{}")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="must start with"):
        webhook_signing.sign([Secret(EXAMPLE_SECRET), "nope"], "evt-1", EXAMPLE_TIMESTAMP, b"")


def test_the_receiver_example_in_the_docs_verifies_and_refuses() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    section = text[text.index("## Webhook signatures and retries") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    secret = webhook_signing.generate_secret()
    namespace: dict[str, Any] = {}
    exec(code.replace('"whsec_..."', repr(secret.reveal())), namespace)
    headers = webhook_signing.sign(secret, "evt-1", _now(), BODY)
    assert namespace["verified_event"](BODY, headers)["id"] == "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    assert namespace["verified_event"](BODY + b" ", headers) is None
