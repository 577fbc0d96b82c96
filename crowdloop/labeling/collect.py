"""Collecting a labeling job's finished objects (spec §7.2, §8, §10, §13): an object whose loop ended (all its
workers answered, its availability lifetime ran out, or the job stopped) joins a consolidation batch. For a
batch: each object's worker-response file (all its answers), the consolidation request, the consolidation
itself (built-in, the job's post-annotation Lambda, or none: the label `{}` with a `worker-response-ref`), the
consolidation response; then one transaction records the labels and the counters.

Writing nothing twice: the batch (its objects and its time, which names its files) is recorded before any
file is written, so a step that dies midway writes the same files again, with the same names and the same
content, instead of a second set. An object nobody answered is failed without a file (spec §7.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crowdloop import output
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.groundtruth import consolidation, segmentation, tasktypes
from crowdloop.labeling import lambdas, paths
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.labeling.runner import Claim
from crowdloop.model import HumanLoopStatus
from crowdloop.output import dumps_json, loads_json
from crowdloop.runtime import Services
from crowdloop.store.tables import human_loops, labeling_jobs, labeling_objects

BATCH = 500  # objects per consolidation batch
NO_ANSWER = "No worker answered before the task's availability lifetime ended."
_ENDED = (HumanLoopStatus.COMPLETED.value, HumanLoopStatus.FAILED.value, HumanLoopStatus.STOPPED.value)


@dataclass(frozen=True)
class _Finished:
    object_index: int
    line: dict[str, Any]
    answers: list[dict[str, Any]]  # the per-answer objects of the worker-response file
    ended_at: datetime
    stopped: bool  # its loop was stopped (the job stopping), not completed or expired


def collect(svc: Services, job: LabelingJob, claim: Claim) -> int:
    """Consolidate every finished object of the job, batch by batch; how many objects were settled."""
    settled = 0
    while True:
        batch_at = _pending_batch(svc, job) or _new_batch(svc, job)
        if batch_at is None:
            return settled
        settled += _consolidate_batch(svc, job, batch_at)
        claim.renew(svc)


def _pending_batch(svc: Services, job: LabelingJob) -> datetime | None:
    """The time of a batch a previous step recorded and did not finish, or None."""
    if job.released <= 0:  # consolidating objects count as released
        return None
    o = labeling_objects
    with svc.store.read() as conn:
        value: datetime | None = conn.execute(
            sa.select(sa.func.min(o.c.batch_at)).where(o.c.job_id == job.id, o.c.state == "consolidating")
        ).scalar()
    return value


def _new_batch(svc: Services, job: LabelingJob) -> datetime | None:
    """Put up to BATCH released objects whose loop ended into a new batch; its time, or None when none ended.
    Batch times fall in different seconds (the second names the batch's files; the time is the labels'
    creation-date)."""
    if job.released <= 0:  # the counter says nothing is out with workers: no query
        return None
    o, h, j = labeling_objects, human_loops, labeling_jobs
    ended = (
        sa.select(o.c.object_index)
        .join(h, h.c.id == o.c.loop_id)
        .where(o.c.job_id == job.id, o.c.state == "released", h.c.status.in_(_ENDED))
        .order_by(o.c.object_index)
    )
    with svc.store.read() as conn:  # most steps find nothing: no write transaction for them
        if conn.execute(ended.limit(1)).first() is None:
            return None
    with svc.store.write() as conn:
        indices = list(conn.execute(ended.limit(BATCH)).scalars())
        if not indices:
            return None
        last = conn.execute(sa.select(j.c.last_batch_at).where(j.c.id == job.id)).scalar()
        batch_at = svc.clock.now()
        if last is not None and batch_at.replace(microsecond=0) <= last.replace(microsecond=0):
            batch_at = last.replace(microsecond=0) + timedelta(seconds=1)
        conn.execute(
            o.update()
            .where(o.c.job_id == job.id, o.c.object_index.in_(indices), o.c.state == "released")
            .values(state="consolidating", batch_at=batch_at)
        )
        conn.execute(j.update().where(j.c.id == job.id).values(last_batch_at=batch_at))
    return batch_at


def _consolidate_batch(svc: Services, job: LabelingJob, batch_at: datetime) -> int:
    finished = _read_batch(svc, job, batch_at)
    answered = [f for f in finished if f.answers]
    root = job.output_root
    for item in answered:
        svc.blobs.put(
            paths.worker_response(root, item.object_index, item.ended_at), dumps_json({"answers": item.answers})
        )
    labels: dict[int, str] = {}
    failures: dict[int, str] = {f.object_index: NO_ANSWER for f in finished if not f.answers and not f.stopped}
    withdrawn = [f.object_index for f in finished if not f.answers and f.stopped]  # unlabeled, not failed
    if answered:
        contents, problems = _consolidate(svc, job, answered, batch_at)
        for item in answered:
            content = contents.get(str(item.object_index))
            if content is None:
                failures[item.object_index] = problems.get(str(item.object_index), "The consolidation gave no label.")
            else:
                labels[item.object_index] = dumps_json(content).decode()
    _record(svc, job, labels, failures, withdrawn)
    return len(finished)


def _read_batch(svc: Services, job: LabelingJob, batch_at: datetime) -> list[_Finished]:
    o, h = labeling_objects, human_loops
    with svc.store.read() as conn:
        rows = conn.execute(
            sa.select(o.c.object_index, o.c.line, o.c.loop_id, h.c.ended_at, h.c.status)
            .join(h, h.c.id == o.c.loop_id)
            .where(o.c.job_id == job.id, o.c.state == "consolidating", o.c.batch_at == batch_at)
            .order_by(o.c.object_index)
        ).all()
        answers = output.loop_answers(conn, [int(r.loop_id) for r in rows], output.issuer_for(svc))
    region = job.arn.split(":")[3]
    finished = []
    for row in rows:
        given = answers.get(int(row.loop_id), [])
        for answer in given:
            answer["workerId"] = f"private.{region}.{answer['workerId']}"
        stopped = row.status == HumanLoopStatus.STOPPED.value
        finished.append(
            _Finished(int(row.object_index), loads_json(row.line), given, row.ended_at or batch_at, stopped)
        )
    return finished


def _consolidate(
    svc: Services, job: LabelingJob, answered: Sequence[_Finished], batch_at: datetime
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each answered object's label content (by datasetObjectId), and why the others have none."""
    root = job.output_root
    request = [
        {
            "datasetObjectId": str(item.object_index),
            "dataObject": _data_object(item.line),
            "annotations": [
                {"workerId": a["workerId"], "annotationData": {"content": dumps_json(a["answerContent"]).decode()}}
                for a in item.answers
            ],
        }
        for item in answered
    ]
    request_uri = paths.consolidation_request(root, batch_at)
    svc.blobs.put(request_uri, dumps_json(request))
    hc = job.request["HumanTaskConfig"]
    acs_arn = (hc.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn")
    problems: dict[str, str] = {}
    if job.task_type is not None and (acs_arn is None or tasktypes.lambda_task_type(str(acs_arn), "ACS") is not None):
        contents = _builtin(svc, job, answered, batch_at)
    elif acs_arn is None:
        contents = {
            str(item.object_index): consolidation.custom_without_lambda(
                job.attribute,
                job.name,
                paths.worker_response(root, item.object_index, item.ended_at),
                batch_at,
            )
            for item in answered
        }
    else:
        contents, problems = _by_lambda(svc, job, str(acs_arn), request_uri, {str(i.object_index) for i in answered})
        contents = {
            key: consolidation.custom_metadata(job.attribute, job.name, batch_at, content)
            for key, content in contents.items()
        }
    response = [{"datasetObjectId": key, "consolidatedAnnotation": {"content": contents[key]}} for key in contents]
    svc.blobs.put(paths.consolidation_response(root, batch_at), dumps_json(response))
    return contents, problems


def _builtin(
    svc: Services, job: LabelingJob, answered: Sequence[_Finished], batch_at: datetime
) -> dict[str, dict[str, Any]]:
    """The built-in ACS-<Type>; the files it makes (segmentation masks) are written before the labels are
    recorded, under names fixed by the batch time, so a retried step writes the same files again."""
    assert job.task_type is not None
    config = job.label_config or {}
    extra: dict[str, Any] = {}
    if job.task_type is tasktypes.TaskType.NAMED_ENTITY_RECOGNITION:
        extra = {"label_objects": config.get("labels", [])}
    if job.task_type is tasktypes.TaskType.ADJUSTMENT_SEMANTIC_SEGMENTATION:
        extra = {"previous_masks": _previous_masks(svc, job, answered)}
    prefix = paths.consolidated_output(job.output_root)
    results = consolidation.consolidate(
        job.task_type,
        label_attribute_name=job.attribute,
        job_name=job.name,
        labels=job.label_names,
        objects=[
            consolidation.DataObject(
                str(item.object_index),
                item.line,
                [consolidation.WorkerAnnotation(a["workerId"], a["answerContent"]) for a in item.answers],
            )
            for item in answered
        ],
        created=batch_at,
        output_prefix=prefix,
        **extra,
    )
    for result in results.values():
        for name, data in result.files.items():
            svc.blobs.put(prefix + name, data, "image/png" if name.endswith(".png") else "application/octet-stream")
    return {key: result.content for key, result in results.items()}


def _previous_masks(svc: Services, job: LabelingJob, answered: Sequence[_Finished]) -> dict[str, bytes]:
    """The previous job's mask of each object that names one (its `*-ref` label), when the blob store has
    it; an object without one is judged from its answers (segmentation.py)."""
    found = {}
    for item in answered:
        key = segmentation.previous_ref(item.line, job.attribute)
        if key is None:
            continue
        try:
            found[str(item.object_index)] = svc.blobs.get(str(item.line[key]))
        except (NotFound, InvalidInput):
            continue
    return found


def _by_lambda(
    svc: Services, job: LabelingJob, arn: str, request_uri: str, ids: set[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    event = lambdas.consolidation_event(
        job_arn=job.arn,
        payload_s3_uri=request_uri,
        label_attribute_name=job.attribute,
        role_arn=str(job.request["RoleArn"]),
        output_config=paths.annotations_folder(job.output_root),
        max_workers=int(job.request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"]),
        label_categories=job.label_names if job.label_config is not None else None,
        kms_key_id=str(job.request["OutputConfig"].get("KmsKeyId") or "") or None,
    )
    try:
        response = lambdas.LambdaInvoker.from_settings(svc.settings).invoke(arn, event)
        contents, problems = lambdas.read_consolidation_response(response, ids, arn=arn)
    except lambdas.LambdaFailed as exc:
        return {}, dict.fromkeys(ids, str(exc)[:1024])
    return contents, {key: "; ".join(problems)[:1024] or "The post-annotation Lambda left it out." for key in ids}


def _data_object(line: dict[str, Any]) -> dict[str, Any]:
    """The consolidation request's dataObject: the line's source-ref as s3Uri, or its source as content."""
    if "source-ref" in line:
        return {"s3Uri": line["source-ref"]}
    return {"content": line.get("source")}


def _record(
    svc: Services, job: LabelingJob, labels: dict[int, str], failures: dict[int, str], withdrawn: list[int]
) -> None:
    """One transaction: the batch's labels, failures and objects withdrawn unanswered (a stopped job's: they
    stay unlabeled, their output line the input line), and the job's counters."""
    o, j = labeling_objects, labeling_jobs
    with svc.store.write() as conn:
        labeled = failed = returned = 0
        if withdrawn:
            returned = conn.execute(
                o.update()
                .where(o.c.job_id == job.id, o.c.object_index.in_(withdrawn), o.c.state == "consolidating")
                .values(state="withdrawn", loop_id=None)
            ).rowcount
        for index, label in labels.items():
            labeled += conn.execute(
                o.update()
                .where(o.c.job_id == job.id, o.c.object_index == index, o.c.state == "consolidating")
                .values(state="labeled", label=label)
            ).rowcount
        for index, reason in failures.items():
            failed += conn.execute(
                o.update()
                .where(o.c.job_id == job.id, o.c.object_index == index, o.c.state == "consolidating")
                .values(state="failed", failure_reason=reason[:1024])
            ).rowcount
        conn.execute(
            j.update()
            .where(j.c.id == job.id)
            .values(
                labeled=j.c.labeled + labeled,
                failed=j.c.failed + failed,
                released=j.c.released - labeled - failed - returned,
                updated_at=svc.clock.now(),
            )
        )
