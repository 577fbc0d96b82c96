"""The A2I output document (spec §7) and its location, written through svc.blobs.

Writing is an outbox: the unit of work that completes (or stops) a loop only commits; the document is
written after the commit and `human_loops.output_written` is set once the blob store has it. Anything a
crash left unwritten is picked up by write_pending_outputs (called at server start and by the reaper).

Identity data: local accounts of the built-in portal are reported as
`{"identityProviderType": "Cognito", "issuer": "<portal URL>", "sub": <worker sub>}`, workers who signed in
through the workforce's OIDC provider as `{"identityProviderType": "Oidc", "issuer": <OidcConfig.Issuer>,
"sub": <their sagemaker:sub claim>}`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop.errors import Unavailable
from crowdloop.model import AssignmentState, HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store import dialect
from crowdloop.store.tables import assignments, flow_definitions, human_loops, workers

log = logging.getLogger(__name__)


def loads_json(text: str | bytes) -> Any:
    """Parse JSON with orjson, falling back to the standard library for what orjson refuses but JSON
    allows (integers beyond 64 bits, escaped lone surrogates). NaN/Infinity and documents nested too deep
    for the standard library's parser are refused (ValueError)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def dumps_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits or a lone surrogate: the standard library copes
        return json.dumps(value, separators=(",", ":")).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def format_time(moment: datetime) -> str:
    """YYYY-MM-DDTHH:MM:SS.mmmZ (UTC, milliseconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def output_uri(output_path: str, flow_name: str, human_loop_name: str, created_at: datetime) -> str:
    """<S3OutputPath>/<flow>/<YYYY>/<MM>/<DD>/<hh>/<mm>/<ss>/<loop>/output.json, the time parts being the
    loop's creation time (UTC, seconds truncated). output_path is flows.normalize_output_path's s3:// form."""
    stamp = created_at.strftime("%Y/%m/%d/%H/%M/%S")
    return f"{output_path.rstrip('/')}/{flow_name}/{stamp}/{human_loop_name}/output.json"


_LOOPS = (
    sa.select(
        human_loops.c.id,
        human_loops.c.name,
        human_loops.c.input_content,
        human_loops.c.output_uri,
        flow_definitions.c.arn.label("flow_arn"),
    )
    .join(flow_definitions, flow_definitions.c.id == human_loops.c.flow_definition_id)
    .where(human_loops.c.id.in_(sa.bindparam("ids", expanding=True)))
)
_ANSWERS = (
    sa.select(
        assignments.c.loop_id,
        assignments.c.accepted_at,
        assignments.c.ended_at,
        assignments.c.answer_content,
        assignments.c.time_spent_seconds,
        workers.c.worker_id,
        workers.c.issuer.label("worker_issuer"),
        workers.c.sub,
    )
    .join(workers, workers.c.id == assignments.c.worker_id)
    .where(
        assignments.c.loop_id.in_(sa.bindparam("ids", expanding=True)),
        assignments.c.state == AssignmentState.SUBMITTED.value,
    )
    .order_by(assignments.c.loop_id, assignments.c.ended_at, assignments.c.id)
)
_MARK_WRITTEN = (
    human_loops.update().where(human_loops.c.id.in_(sa.bindparam("ids", expanding=True))).values(output_written=True)
)


def build_document(conn: Connection, loop_id: int, issuer: str) -> tuple[str, bytes] | None:
    """(output_uri, output.json bytes) for a loop, or None when the loop is gone."""
    return build_documents(conn, [loop_id], issuer).get(loop_id)


def build_documents(conn: Connection, loop_ids: list[int], issuer: str) -> dict[int, tuple[str, bytes]]:
    """build_document for many loops with two queries; loops that are gone are left out."""
    if not loop_ids:
        return {}
    answers: dict[int, list[dict[str, Any]]] = {}
    for a in conn.execute(_ANSWERS, {"ids": loop_ids}):
        answers.setdefault(a.loop_id, []).append(
            {
                "acceptanceTime": format_time(a.accepted_at),
                "answerContent": loads_json(a.answer_content or "{}"),
                "submissionTime": format_time(a.ended_at),
                "timeSpentInSeconds": round(float(a.time_spent_seconds or 0.0), 3),
                "workerId": a.worker_id,
                "workerMetadata": {"identityData": _identity_data(a.worker_issuer, a.sub, issuer)},
            }
        )
    documents = {}
    for loop in conn.execute(_LOOPS, {"ids": loop_ids}):
        document = {
            "flowDefinitionArn": loop.flow_arn,
            "humanAnswers": answers.get(loop.id, []),
            "humanLoopName": loop.name,
            "inputContent": loads_json(loop.input_content),
        }
        documents[loop.id] = (loop.output_uri, dumps_json(document))
    return documents


def _identity_data(worker_issuer: str, sub: str, portal_issuer: str) -> dict[str, str]:
    if worker_issuer:  # signed in through the workforce's OIDC provider
        return {"identityProviderType": "Oidc", "issuer": worker_issuer, "sub": sub}
    return {"identityProviderType": "Cognito", "issuer": portal_issuer, "sub": sub}


def issuer_for(svc: Services) -> str:
    return svc.settings.portal_url


def write_output(svc: Services, loop_id: int) -> bool:
    """Write one loop's output.json and mark it written. Raises what the blob store raises."""
    with svc.store.read() as conn:
        built = build_document(conn, loop_id, issuer_for(svc))
    if built is None:
        return False
    uri, data = built
    svc.blobs.put(uri, data)
    with svc.store.write() as conn:
        conn.execute(_MARK_WRITTEN, {"ids": [loop_id]})
    return True


def write_outputs_after_commit(svc: Services, loop_ids: list[int]) -> int:
    """write_output_after_commit for many loops with one read and one write transaction (the background
    writer's batches). Returns how many outputs were written; failures are logged and left for retry."""
    with svc.store.read() as conn:
        built = build_documents(conn, loop_ids, issuer_for(svc))
    written: list[int] = []
    for loop_id, document in built.items():
        try:
            svc.blobs.put(*document)
        except Unavailable as exc:  # the blob store is down or full: the rest would fail the same way
            log.warning("writing output.json of %d loops postponed: %s", len(built) - len(written), exc.message)
            break
        except Exception:  # the outbox retries: any blob-store failure must not undo a committed answer
            log.warning("writing output.json of human loop %s failed; will retry", loop_id, exc_info=True)
            continue
        written.append(loop_id)
    if written:
        with svc.store.write() as conn:
            conn.execute(_MARK_WRITTEN, {"ids": written})
    return len(written)


def write_output_after_commit(svc: Services, loop_id: int) -> bool:
    """write_output for callers whose unit of work has already committed: a failure is logged and left
    to write_pending_outputs (the loop stays marked unwritten), never raised to the worker."""
    try:
        return write_output(svc, loop_id)
    except Exception:  # the outbox retries: any blob-store failure must not undo a committed answer
        log.warning("writing output.json of human loop %s failed; will retry", loop_id, exc_info=True)
        return False


def after_commit(svc: Services, loop_id: int) -> None:
    """A loop just got its output-bearing status: write its output.json now, or hand it to the
    process's background OutputWriter when there is one (the server's case: the worker's request does
    not wait for the file). Either way the loop is reported Completed only once the file is written."""
    if svc.output_writer is not None:
        svc.output_writer.enqueue(loop_id)
    else:
        write_output_after_commit(svc, loop_id)


_WRITER_BATCH = 256
LINGER_SECONDS = 0.02


class OutputWriter:
    """One background thread writing the output.json of loops handed over by after_commit. A crash
    loses nothing: anything not yet marked written is picked up by write_pending_outputs.

    The thread is woken once per batch, not once per loop: after the first loop arrives it lingers
    LINGER_SECONDS to collect the others. (Waking a thread is a cross-CPU interrupt; on virtual machines
    one per answer cost more than writing the file.)"""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="crowdloop-output", daemon=True)
        self._thread.start()

    def enqueue(self, loop_id: int) -> None:
        with self._lock:
            self._pending.append(loop_id)
            first = len(self._pending) == 1
        if first:
            self._wake.set()

    def close(self, timeout_seconds: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        self._closing = True
        self._wake.set()
        self._thread.join(timeout_seconds)

    def _run(self) -> None:
        self._svc.store.pin_connections()
        while True:
            self._wake.wait()
            if not self._closing:
                time.sleep(LINGER_SECONDS)
            with self._lock:
                batch, self._pending = self._pending, []
                self._wake.clear()
            for start in range(0, len(batch), _WRITER_BATCH):
                try:
                    write_outputs_after_commit(self._svc, batch[start : start + _WRITER_BATCH])
                except Unavailable as exc:  # the sweep writes these loops once the store is back
                    log.warning("writing %d outputs postponed: %s", len(batch), exc.message)
                except Exception:  # e.g. the database is unreachable: the sweep retries these loops later
                    log.warning("writing %d outputs failed; will retry", len(batch), exc_info=True)
            if self._closing:
                with self._lock:
                    if not self._pending:
                        return


def write_pending_outputs(svc: Services) -> int:
    """Write every Completed (or Stopped with answers) loop whose output.json is not written yet."""
    with svc.store.read() as conn:
        pending = dialect.pending_output_loop_ids(conn)
    return sum(
        write_outputs_after_commit(svc, pending[start : start + _WRITER_BATCH])
        for start in range(0, len(pending), _WRITER_BATCH)
    )


def has_output(status: str, answers_count: int) -> bool:
    """Whether a loop in this state gets an output.json."""
    return status == HumanLoopStatus.COMPLETED or (status == HumanLoopStatus.STOPPED and answers_count > 0)
