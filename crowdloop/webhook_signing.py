"""Standard Webhooks signatures: the secrets of webhook subscriptions and the headers of each delivery.

A secret is `whsec_` followed by the standard base64 of 24 to 64 random bytes (the HMAC key); crowdloop
generates 32. A delivery carries three headers:

    webhook-id          the message id: the same on every retry of one event, so receivers can dedupe
    webhook-timestamp   integer Unix seconds of this attempt (receivers refuse it 5 minutes off their clock)
    webhook-signature   `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per secret, separated
                        by spaces: while a secret is rotated, both the new and the old one sign

so any Standard Webhooks library (Python: `standardwebhooks`) verifies them. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from crowdloop.errors import InvalidInput
from crowdloop.secret import Secret

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
GENERATED_SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
# A message id goes into a header and into the signed text: printable ASCII, no spaces, no dots (a dot would
# make "<id>.<timestamp>" ambiguous), at most 256 characters.
_MSG_ID = re.compile(r"[!-~]{1,256}")

SecretText = str | Secret


def generate_secret() -> Secret:
    """A new random secret, `whsec_<base64 of 32 bytes>` (masked in repr and logs)."""
    key = secrets.token_bytes(GENERATED_SECRET_BYTES)
    return Secret(SECRET_PREFIX + base64.b64encode(key).decode("ascii"))


def parse_secret(secret: SecretText, field: str = "secret") -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; InvalidInput (naming `field`) when it is malformed."""
    text = secret.reveal() if isinstance(secret, Secret) else secret
    if not text.startswith(SECRET_PREFIX):
        raise InvalidInput(f"The {field} must start with '{SECRET_PREFIX}'.", field)
    encoded = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidInput(
            f"The {field} after '{SECRET_PREFIX}' must be standard base64 (A-Z a-z 0-9 + / =).", field
        ) from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidInput(
            f"The {field} must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes; it encodes {len(key)}.", field
        )
    return key


def unix_seconds(timestamp: datetime | int) -> int:
    """A timestamp as the integer Unix seconds of `webhook-timestamp` (a datetime must be timezone-aware)."""
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise InvalidInput("The webhook timestamp must be timezone-aware (UTC).", "timestamp")
        return int(timestamp.timestamp() // 1)
    if isinstance(timestamp, bool) or timestamp < 0:
        raise InvalidInput("The webhook timestamp must be a non-negative number of Unix seconds.", "timestamp")
    return timestamp


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of a message under one HMAC key."""
    signed = f"{msg_id}.{timestamp}.".encode("ascii") + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def sign(
    secret: SecretText | Sequence[SecretText], msg_id: str, timestamp: datetime | int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt.

    `secret` is one `whsec_` secret or several (a rotation: the newest first; each signs, the receiver accepts
    any). `body` is the exact bytes sent."""
    if not _MSG_ID.fullmatch(msg_id) or "." in msg_id:
        raise InvalidInput(
            "The webhook message id must be 1 to 256 printable ASCII characters without spaces or dots.", "msgId"
        )
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InvalidInput("The webhook body must be bytes (the exact bytes sent).", "body")
    all_secrets = [secret] if isinstance(secret, str | Secret) else list(secret)
    if not all_secrets:
        raise InvalidInput("A webhook needs at least one secret to sign with.", "secret")
    seconds = unix_seconds(timestamp)
    keys = [parse_secret(one) for one in all_secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": " ".join(signature(key, msg_id, seconds, bytes(body)) for key in keys),
    }
