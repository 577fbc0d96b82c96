"""Signed tokens the portal hands to the browser (HMAC-SHA256 with a key kept on the server).

* Frame tokens: the task UI runs in a sandboxed iframe with an opaque origin, so it is authorised by its
  URL, not by cookies: `/tasks/<assignment>/frame?token=<worker pk>.<expires epoch>.<mac>`, valid for
  FRAME_TOKEN_SECONDS.
* Lease tokens: the task page sends back, with the answer, `<job>.<accepted at, epoch µs>.<mac>` for its
  assignment and worker, so a submission knows the job to open next and the acceptance time to clamp
  timeSpentInSeconds against without reading the lease first. The queue still checks the lease itself.

The key lives in <data_dir>/keys/portal-tokens.key (created on first use), so tokens survive a restart.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

FRAME_TOKEN_SECONDS = 300


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def frame_token(self, assignment_id: int, worker_pk: int, now_epoch: float, gold: bool = False) -> str:
        expires = int(now_epoch) + FRAME_TOKEN_SECONDS
        return f"{worker_pk}.{expires}.{self._mac(_purpose('frame', gold), assignment_id, worker_pk, expires)}"

    def verify_frame(self, assignment_id: int, token: str, now_epoch: float, gold: bool = False) -> int | None:
        """The worker pk the frame token was issued to, or None (malformed, forged or expired). gold: the id
        is a gold item lease's (a token for a loop's assignment of the same number does not do)."""
        fields = _fields(token)
        if fields is None:
            return None
        worker_pk, expires, mac = fields
        expected = self._mac(_purpose("frame", gold), assignment_id, worker_pk, expires)
        if expires < now_epoch or not hmac.compare_digest(expected, mac):
            return None
        return worker_pk

    def lease_token(
        self, assignment_id: int, worker_pk: int, flow_definition_id: int, accepted_at: datetime, gold: bool = False
    ) -> str:
        micros = _micros(accepted_at)
        mac = self._mac(_purpose("lease", gold), assignment_id, worker_pk, flow_definition_id, micros)
        return f"{flow_definition_id}.{micros}.{mac}"

    def verify_lease(
        self, assignment_id: int, worker_pk: int, token: object, gold: bool = False
    ) -> tuple[int, datetime] | None:
        """(job id, accepted at) from a lease token of this assignment and worker, or None."""
        fields = _fields(token)
        if fields is None:
            return None
        flow_definition_id, micros, mac = fields
        expected = self._mac(_purpose("lease", gold), assignment_id, worker_pk, flow_definition_id, micros)
        if not hmac.compare_digest(expected, mac):
            return None
        return flow_definition_id, datetime.fromtimestamp(micros // 1_000_000, UTC).replace(
            microsecond=micros % 1_000_000
        )

    def _mac(self, purpose: str, *values: int) -> str:
        message = "\n".join([purpose, *map(str, values)]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:40]


def _purpose(kind: str, gold: bool) -> str:
    return "gold-" + kind if gold else kind


def _fields(token: object) -> tuple[int, int, str] | None:
    if not isinstance(token, str) or len(token) > 128:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
