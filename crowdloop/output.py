"""The A2I output document (spec §7) and its location, written through svc.blobs by the outbox.

output.json is the outbox's first kind (crowdloop.outbox, KIND here). The unit of work that completes or
stops a loop calls mark_output_due in its transaction (the one way an output becomes due), then
after_commit; the kind's writer builds the document, writes it and, in one transaction, deletes the
outbox row and sets `human_loops.output_written`. Until then the loop reports the status before
(loops._reported_status), so whoever sees Completed can read the file. DeleteHumanLoop of a loop whose
output is still due keeps the document in the outbox row (keep_output_of_deleted_loop). Each output is
written once (the outbox's guarantee: a crash between the write and its mark rewrites the same document).

With crowdloop:shuffle-responses, each answer also carries `crowdloopResponseOrder` (RESPONSE_ORDER): the
order its worker saw the responses in (crowdloop.shuffle); inputContent and answerContent stay as A2I has them.

Identity data: local accounts of the built-in portal are reported as
`{"identityProviderType": "Cognito", "issuer": "<portal URL>", "sub": <worker sub>}`, workers who signed in
through the workforce's OIDC provider as `{"identityProviderType": "Oidc", "issuer": <OidcConfig.Issuer>,
"sub": <their sagemaker:sub claim>}`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import eventlog, outbox, shuffle
from crowdloop.model import AssignmentState, HumanLoopStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import assignments, flow_definitions, human_loops, workers
from crowdloop.store.tables import outbox as outbox_rows

# crowdloop's one addition to an answer of output.json (docs/quality.md): with crowdloop:shuffle-responses, the
# order the worker saw the responses in (displayed position k showed the input's response order[k]); the
# answerContent is as given, in displayed positions.
RESPONSE_ORDER = "crowdloopResponseOrder"


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
    # a labeling job's loops have no output.json: the job writes its worker-response files (groundtruth)
    .where(human_loops.c.id.in_(sa.bindparam("ids", expanding=True)), flow_definitions.c.labeling_job_id.is_(None))
)
_ANSWERS = (
    sa.select(
        assignments.c.loop_id,
        assignments.c.accepted_at,
        assignments.c.ended_at,
        assignments.c.answer_content,
        assignments.c.time_spent_seconds,
        assignments.c.response_order,
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


def build_document(conn: Connection, loop_id: int, issuer: str) -> tuple[str, bytes] | None:
    """(output_uri, output.json bytes) for a loop, or None when the loop is gone."""
    return build_documents(conn, [loop_id], issuer).get(loop_id)


def build_documents(conn: Connection, loop_ids: list[int], issuer: str) -> dict[int, tuple[str, bytes]]:
    """build_document for many loops with two queries; loops that are gone are left out."""
    if not loop_ids:
        return {}
    answers = loop_answers(conn, loop_ids, issuer)
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


def loop_answers(conn: Connection, loop_ids: list[int], issuer: str) -> dict[int, list[dict[str, Any]]]:
    """The submitted answers of each loop, oldest first, as output.json's humanAnswers show them."""
    answers: dict[int, list[dict[str, Any]]] = {}
    for a in conn.execute(_ANSWERS, {"ids": loop_ids}):
        answer: dict[str, Any] = {
            "acceptanceTime": format_time(a.accepted_at),
            "answerContent": loads_json(a.answer_content or "{}"),
        }
        if a.response_order is not None:  # crowdloop:shuffle-responses: the order this worker saw
            answer[RESPONSE_ORDER] = list(shuffle.decode(a.response_order) or ())
        answer.update(
            {
                "submissionTime": format_time(a.ended_at),
                "timeSpentInSeconds": round(float(a.time_spent_seconds or 0.0), 3),
                "workerId": a.worker_id,
                "workerMetadata": {"identityData": _identity_data(a.worker_issuer, a.sub, issuer)},
            }
        )
        answers.setdefault(a.loop_id, []).append(answer)
    return answers


def _identity_data(worker_issuer: str, sub: str, portal_issuer: str) -> dict[str, str]:
    if worker_issuer:  # signed in through the workforce's OIDC provider
        return {"identityProviderType": "Oidc", "issuer": worker_issuer, "sub": sub}
    return {"identityProviderType": "Cognito", "issuer": portal_issuer, "sub": sub}


def issuer_for(svc: Services) -> str:
    return svc.settings.portal_url


def mark_output_due(conn: Connection, loop_id: int, now: datetime) -> None:
    """The loop just got its output-bearing status (has_output): its output.json is due. Call it in the
    transaction that made the change, then after_commit once it committed."""
    outbox.mark_due(conn, KIND_NAME, str(loop_id), now)


def keep_output_of_deleted_loop(conn: Connection, loop_id: int, issuer: str, now: datetime) -> None:
    """The loop is about to be deleted (in this transaction) while its output.json is due: the outbox row
    keeps the document, which is written from there."""
    built = build_document(conn, loop_id, issuer)
    if built is not None:
        uri, data = built
        outbox.mark_due(conn, KIND_NAME, str(loop_id), now, payload=uri.encode() + b"\0" + data)


def after_commit(svc: Services) -> int:
    """After a commit that made outputs due: wake the output writer (the server's case: the request does
    not wait for the file), or write them now where the process has no writer. Either way a loop is
    reported Completed only once its file is written. Returns how many were written here."""
    return outbox.notify(svc, KIND)


_MARK_WRITTEN = (
    human_loops.update().where(human_loops.c.id.in_(sa.bindparam("ids", expanding=True))).values(output_written=True)
)
_KEPT_DOCUMENTS = sa.select(outbox_rows.c.id, outbox_rows.c.payload).where(
    outbox_rows.c.id.in_(sa.bindparam("ids", expanding=True))
)

_ENDED_LOOPS = (
    sa.select(
        human_loops.c.arn,
        human_loops.c.status,
        human_loops.c.created_at,
        human_loops.c.output_uri,
        flow_definitions.c.arn.label("flow_arn"),
    )
    .join(flow_definitions, flow_definitions.c.id == human_loops.c.flow_definition_id)
    .where(human_loops.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(human_loops.c.id)
)

KIND_NAME = "output"


class _OutputKind:
    """output.json as an outbox kind: the message of loop L is L's document (outbox key str(L)), built
    when it is sent, or kept in the row's payload (`<uri> NUL <document>`) when L was deleted first."""

    name = KIND_NAME

    def prepare(self, svc: Services, messages: Sequence[outbox.Message]) -> dict[int, tuple[str, bytes] | None]:
        kept = {m.id: m.payload for m in messages if m.payload is not None}
        by_loop = {int(m.key): m.id for m in messages if m.payload is None}
        with svc.store.read() as conn:
            built = build_documents(conn, list(by_loop), issuer_for(svc))
            gone = [message_id for loop_id, message_id in by_loop.items() if loop_id not in built]
            if gone:  # deleted since the claim: the delete kept the document in the row
                kept.update(dict(conn.execute(_KEPT_DOCUMENTS, {"ids": gone}).all()))
        items: dict[int, tuple[str, bytes] | None] = {by_loop[loop_id]: doc for loop_id, doc in built.items()}
        for message_id in gone:
            items[message_id] = None  # a loop deleted with nothing to write
        for message_id, payload in kept.items():
            if payload is not None:
                uri, _, data = bytes(payload).partition(b"\0")
                items[message_id] = (uri.decode(), data)
        return items

    def send(self, svc: Services, item: tuple[str, bytes]) -> None:
        svc.blobs.put(*item)

    def done(self, svc: Services, conn: Connection, messages: Sequence[outbox.Message]) -> None:
        """Mark the outputs written and record each loop's status change event (Completed, or Stopped with
        answers): whoever the event reaches can read the output (a loop deleted before its output was
        written had its event recorded by DeleteHumanLoop)."""
        loop_ids = [int(m.key) for m in messages]
        conn.execute(_MARK_WRITTEN, {"ids": loop_ids})
        ended = conn.execute(_ENDED_LOOPS, {"ids": loop_ids}).all()
        eventlog.loops_ended(conn, svc.clock.now(), [eventlog.EndedLoop.from_row(row) for row in ended])

    def settled(self, svc: Services, messages: Sequence[outbox.Message]) -> None:
        eventlog.after_commit(svc)

    def describe(self, message: outbox.Message) -> str:
        return f"output.json of human loop {message.key}"


KIND: outbox.Kind[tuple[str, bytes]] = _OutputKind()


def has_output(status: str, answers_count: int) -> bool:
    """Whether a loop in this state gets an output.json."""
    return status == HumanLoopStatus.COMPLETED or (status == HumanLoopStatus.STOPPED and answers_count > 0)
