"""Initializing a labeling job (spec §5, §6, §13): read its worker template, label category file and input
manifest from the object store, store one row per data object, make the flow definition its tasks run through,
and go InProgress — or Failed with a FailureReason naming what could not be read or is invalid.

Manifest lines (spec §6.1): UTF-8 JSON Lines, `\\n` or `\\r\\n`; blank lines are skipped (no object). A line
that is not a JSON object, has neither `source` nor `source-ref`, is longer than 100,000 characters, has an
attribute over 20,000 characters or an attribute name starting with `$` keeps its index (datasetObjectId) and
counts as FailedNonRetryableError; its output line is the input line unchanged (docs/api.md).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from crowdloop import flows, liquid
from crowdloop.errors import CrowdloopError, NotFound, Unavailable
from crowdloop.groundtruth import builtin_uis, tasktypes
from crowdloop.labeling import lambdas
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.labeling.runner import Claim
from crowdloop.model import LabelingJobStatus
from crowdloop.output import dumps_json, loads_json
from crowdloop.runtime import Caller, Services
from crowdloop.store import dialect
from crowdloop.store.tables import human_task_uis, labeling_jobs, labeling_objects

MAX_LINE_CHARACTERS = 100_000
MAX_ATTRIBUTE_CHARACTERS = 20_000
MAX_LABEL_CHARACTERS = 256
INSERT_CHUNK = 5000  # object rows per INSERT
# Single- and multi-label classification need two labels at least (spec §5).
_TWO_LABELS_AT_LEAST = frozenset(
    {"ImageMultiClass", "ImageMultiClassMultiLabel", "TextMultiClass", "TextMultiClassMultiLabel"}
)


class JobInputError(Exception):
    """What fails the job while it initializes: the FailureReason."""


def initialize(svc: Services, job: LabelingJob, claim: Claim) -> None:
    """Initializing -> InProgress (or Failed). The objects are stored in chunks of INSERT_CHUNK rows, each
    committed (the job stays Initializing, its counters untouched, so nothing reads them yet); the last
    transaction makes the job InProgress. Run again after a crash, it starts over: the objects of a job that
    never reached InProgress are replaced. A job stopped meanwhile keeps no objects."""
    try:
        _check_lambdas(svc, job)
        template = _template(svc, job)
        labels = _labels(svc, job)
        s3_source = job.request["InputConfig"]["DataSource"].get("S3DataSource")  # optional for a streaming job
        manifest = b"" if s3_source is None else _read(svc, str(s3_source["ManifestS3Uri"]), "manifest")
    except JobInputError as exc:
        fail(svc, job, str(exc))
        return
    hc = job.request["HumanTaskConfig"]
    caller = Caller(account=job.arn.split(":")[4], region=job.arn.split(":")[3])
    if not _clear_objects(svc, job):
        return
    objects = failed = 0
    chunk: list[tuple[int, int, str, str, str | None]] = []
    for index, line, problem in _objects(manifest):
        objects += 1
        failed += problem is not None
        chunk.append((job.id, index, line, "queued" if problem is None else "failed", problem))
        if len(chunk) >= INSERT_CHUNK:
            _insert(svc, chunk)
            chunk = []
            claim.renew(svc)
    if chunk:
        _insert(svc, chunk)
    with svc.store.write() as conn:
        now = svc.clock.now()
        started = conn.execute(
            labeling_jobs.update()
            .where(labeling_jobs.c.id == job.id, labeling_jobs.c.status == LabelingJobStatus.INITIALIZING.value)
            .values(status=LabelingJobStatus.IN_PROGRESS.value, updated_at=now)
        ).rowcount
        if not started:  # stopped meanwhile: it ends Stopped with nothing released (and no objects)
            conn.execute(labeling_objects.delete().where(labeling_objects.c.job_id == job.id))
            return
        flow_id = job.flow_definition_id or flows.create_job_flow(
            conn,
            caller,
            flows.JobFlow(
                labeling_job_id=job.id,
                job_arn=job.arn,
                role_arn=str(job.request["RoleArn"]),
                workteam_arn=job.workteam_arn,
                human_task_ui_arn=str(hc["UiConfig"].get("HumanTaskUiArn") or job.arn),
                template_sha256=flows.store_template(conn, template),
                task_count=int(hc["NumberOfHumanWorkersPerDataObject"]),
                task_title=str(hc["TaskTitle"]),
                task_description=str(hc["TaskDescription"]),
                task_time_limit_seconds=int(hc["TaskTimeLimitInSeconds"]),
                task_availability_lifetime_seconds=int(hc["TaskAvailabilityLifetimeInSeconds"]),
                output_path=str(job.request["OutputConfig"]["S3OutputPath"]),
            ),
            now,
        )
        conn.execute(
            labeling_jobs.update()
            .where(labeling_jobs.c.id == job.id)
            .values(
                objects=objects,
                failed=failed,
                queued=objects - failed,
                labels=labels,
                flow_definition_id=flow_id,
            )
        )


def _clear_objects(svc: Services, job: LabelingJob) -> bool:
    """Delete the objects an earlier, interrupted initialization of the job stored; False when the job is no
    longer Initializing (stopped meanwhile: nothing to store)."""
    with svc.store.write() as conn:
        status = conn.execute(sa.select(labeling_jobs.c.status).where(labeling_jobs.c.id == job.id)).scalar()
        if status != LabelingJobStatus.INITIALIZING.value:
            return False
        conn.execute(labeling_objects.delete().where(labeling_objects.c.job_id == job.id))
    return True


_COLUMNS = ("job_id", "object_index", "line", "state", "failure_reason")


def _insert(svc: Services, rows: list[tuple[int, int, str, str, str | None]]) -> None:
    """One chunk of object rows (_COLUMNS) in a transaction of its own: the other writers (the API, the
    portal; every writer on SQLite) wait for one chunk at most, never for the whole manifest, and the claim can
    be renewed between chunks (Claim.renew commits; inside a transaction holding the job's row it would wait
    for itself)."""
    with svc.store.write() as conn:
        dialect.insert_many(conn, labeling_objects, _COLUMNS, rows)


def fail(svc: Services, job: LabelingJob, reason: str) -> None:
    """The job is Failed for `reason` (its state change event recorded in the same transaction)."""
    from crowdloop.labeling import finish

    with svc.store.write() as conn:
        finish.end_job(svc, conn, job, LabelingJobStatus.FAILED, failure_reason=reason[:1024])


def _check_lambdas(svc: Services, job: LabelingJob) -> None:
    """Every custom Lambda of the job must be mapped to a target here (setting labeling_lambdas): a job naming
    one that is not fails at once instead of failing each of its objects."""
    hc = job.request["HumanTaskConfig"]
    invoker = lambdas.LambdaInvoker.from_settings(svc.settings)
    pre = hc.get("PreHumanTaskLambdaArn")
    acs = (hc.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn")
    custom: list[str] = []
    if pre is not None and tasktypes.lambda_task_type(str(pre), "PRE") is None:
        custom.append(str(pre))
    if acs is not None and tasktypes.lambda_task_type(str(acs), "ACS") is None:
        custom.append(str(acs))
    for arn in custom:
        if not invoker.resolves(arn):
            raise JobInputError(
                f"ClientError: Lambda function {arn} is not mapped to a target here: add it to the setting "
                f"{lambdas.SETTING} (docs/settings.md)."
            )


def _read(svc: Services, uri: str, what: str) -> bytes:
    try:
        return svc.blobs.get(flows.normalize_output_path(uri, what))
    except NotFound as exc:
        raise JobInputError(f"ClientError: Unable to read the {what} {uri}: {exc.message}") from None
    except Unavailable:
        raise
    except CrowdloopError as exc:
        raise JobInputError(f"ClientError: Unable to read the {what} {uri}: {exc.message}") from None


def _text(data: bytes, what: str, uri: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobInputError(
            f"ClientError: The {what} {uri} is not UTF-8 text: {exc.reason} at byte {exc.start}."
        ) from None


def _template(svc: Services, job: LabelingJob) -> str:
    """The worker task template: the UiTemplateS3Uri's object, a built-in UI, or a CreateHumanTaskUi UI."""
    ui = job.request["HumanTaskConfig"]["UiConfig"]
    if ui.get("HumanTaskUiArn") is not None:
        arn = str(ui["HumanTaskUiArn"])
        builtin = builtin_uis.builtin_ui_name(arn)
        if builtin is not None:
            content = builtin_uis.builtin_ui_template(builtin)
            if content is None:
                raise JobInputError(f"ClientError: The built-in human task UI {arn} is not available in crowdloop.")
            return content
        with svc.store.read() as conn:
            sha = conn.execute(sa.select(human_task_uis.c.template_sha256).where(human_task_uis.c.arn == arn)).scalar()
            content = None if sha is None else flows.template_content(conn, sha)
        if content is None:
            raise JobInputError(f"ClientError: The human task UI {arn} was deleted.")
        return content
    uri = str(ui["UiTemplateS3Uri"])
    content = _text(_read(svc, uri, "worker task template"), "worker task template", uri)
    problems = liquid.check_template(content)
    if problems:
        details = "; ".join(f"{p.code}: {p.message}" for p in problems[:5])
        raise JobInputError(f"ClientError: The worker task template {uri} is not a valid Liquid template: {details}")
    return content


def _labels(svc: Services, job: LabelingJob) -> dict[str, Any] | None:
    """What the job keeps of its label category file (spec §5): {"labels": [entries], "instructions"?: {...}}
    (instructions: NER jobs), or None without a file."""
    uri = job.request.get("LabelCategoryConfigS3Uri")
    if uri is None:
        if job.task_type is not None and job.task_type.value != "PassThrough":
            raise JobInputError(
                f"ClientError: A {job.task_type.value} labeling job needs a LabelCategoryConfigS3Uri (its labels)."
            )
        return None
    text = _text(_read(svc, str(uri), "label category file"), "label category file", str(uri))
    try:
        document = loads_json(text)
    except ValueError:
        document = None
    where = f"ClientError: The label category file {uri} is invalid:"
    if not isinstance(document, dict) or not isinstance(document.get("labels"), list) or not document["labels"]:
        raise JobInputError(f"{where} it must be a JSON object with a non-empty 'labels' list.")
    labels: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, entry in enumerate(document["labels"]):
        label = entry.get("label") if isinstance(entry, dict) else None
        if not isinstance(label, str) or not label or len(label) > MAX_LABEL_CHARACTERS:
            raise JobInputError(
                f"{where} labels[{position}] needs a 'label' of 1 to {MAX_LABEL_CHARACTERS} characters."
            )
        if label in seen:
            raise JobInputError(f"{where} the label '{label}' appears twice.")
        seen.add(label)
        labels.append(dict(entry))
    if job.task_type is not None and job.task_type.value in _TWO_LABELS_AT_LEAST and len(labels) < 2:
        raise JobInputError(f"{where} a {job.task_type.value} job needs at least 2 labels.")
    stored: dict[str, Any] = {"labels": labels}
    if job.task_type is not None and job.task_type.value == "NamedEntityRecognition":
        instructions = document.get("instructions")
        if not isinstance(instructions, dict):
            raise JobInputError(
                f"{where} a NamedEntityRecognition job needs 'instructions' (shortInstruction, fullInstruction)."
            )
        stored["instructions"] = instructions
    return stored


def _objects(manifest: bytes) -> Iterator[tuple[int, str, str | None]]:
    """(datasetObjectId, the line to store, the problem or None) for each non-blank manifest line."""
    index = 0
    for raw in io.BytesIO(manifest):  # line by line: a list of every line would double the manifest's memory
        raw = raw.rstrip(b"\n").rstrip(b"\r")
        if not raw.strip():
            continue
        if index == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield (index, *check_line(raw))
        index += 1


def check_line(raw: bytes) -> tuple[str, str | None]:
    """(the line to store, the problem or None) for one manifest line (the module docstring's rules)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), "The line is not UTF-8 text."
    if len(text) > MAX_LINE_CHARACTERS:
        return text, f"The line is longer than {MAX_LINE_CHARACTERS} characters."
    try:
        value = loads_json(text)
    except ValueError:
        return text, "The line is not a JSON object."
    if not isinstance(value, dict):
        return text, "The line is not a JSON object."
    if "source" not in value and "source-ref" not in value:
        return text, "The line has neither 'source' nor 'source-ref'."
    for key, item in value.items():
        if key.startswith("$"):
            return text, f"The attribute name '{key}' starts with '$'."
        if len(dumps_json(item)) > MAX_ATTRIBUTE_CHARACTERS:
            return text, f"The attribute '{key}' is longer than {MAX_ATTRIBUTE_CHARACTERS} characters."
    return dumps_json(value).decode(), None
