"""The labeling jobs pages (docs/console.md "Labeling jobs"): `/console/labeling-jobs`, the account's Ground Truth
jobs newest first with their LabelCounters (keyset pages through labeling.jobs.list_labeling_jobs, whose signed
position the "Next page" link carries), and `/console/labeling-jobs/{job}`, one job: status, counters, the
request's essentials, its objects (labeling.objects.page_objects: a state filter as a GET form, keyset pages by
datasetObjectId) and Stop, confirmed on a page of its own, then a POST with the CSRF token through
labeling.jobs.stop_labeling_job (StopLabelingJob's domain call).

Query parameters, each checked (400 otherwise): cursor (at most MAX_CURSOR_CHARS, issued by this server for this
listing), state (an object state or empty), after (a datasetObjectId), limit (1 to objects.MAX_PAGE); the job
name (a LabelingJobName: at most MAX_NAME_CHARS). An unknown job is the console's 404 page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import Route

from crowdloop import urls
from crowdloop.console.web import ConsoleVisit, console_action, console_page
from crowdloop.errors import InvalidInput
from crowdloop.i18n import N_
from crowdloop.labeling import jobs, objects
from crowdloop.labeling.jobs import LabelingJob
from crowdloop.labeling.objects import LabelingObject
from crowdloop.model import LabelingJobStatus

PAGE_SIZE = 50  # jobs per page, and objects per page unless ?limit= says otherwise
MAX_CURSOR_CHARS = 512
MAX_NAME_CHARS = 63
MAX_INDEX_CHARS = 10  # a datasetObjectId as text
SOURCE_CHARS = 80  # a source / source-ref shown in the objects table (the whole one in its title, up to TITLE_CHARS)
LABEL_CHARS = 120  # a label shown as compact JSON
TITLE_CHARS = 1000
_STOPPABLE = (LabelingJobStatus.IN_PROGRESS, LabelingJobStatus.INITIALIZING)
_WITH_OUTPUT = (LabelingJobStatus.COMPLETED, LabelingJobStatus.STOPPED)


@dataclass(frozen=True)
class JobRow:
    """A job as the pages show it: its counters as numbers and a share for the progress bar."""

    job: LabelingJob

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def total(self) -> int:
        return self.job.objects

    @property
    def done(self) -> int:
        """Objects with an outcome (labeled, failed, or skipped: no human needed)."""
        return max(self.total - self.job.counters.unlabeled, 0)

    @property
    def percent(self) -> float | None:
        return None if self.total <= 0 else min(100.0, round(100 * self.done / self.total, 1))

    @property
    def team(self) -> str:
        return self.job.workteam_arn.rsplit("/", 1)[-1]

    @property
    def url(self) -> str:
        return urls.fill(urls.CONSOLE_LABELING_JOB, job=self.job.name)


@dataclass(frozen=True)
class ShownObject:
    item: LabelingObject
    source: str  # truncated
    source_title: str  # the whole source (up to TITLE_CHARS), for the cell's title
    value: str  # the label value (built-in types) or the label as compact JSON, truncated
    class_names: str
    confidence: float | None
    reason: str  # a failed object's reason, truncated


def _short(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _shown(item: LabelingObject, builtin: bool) -> ShownObject:
    source = item.source or ""
    label = item.label
    value, names, confidence = "", "", None
    if label is not None:
        if builtin and label.scalar:
            value = "" if label.value is None else str(label.value)
            names, confidence = ", ".join(label.class_names), label.confidence
        else:
            value = _short(label.compact, LABEL_CHARS)
            names = ", ".join(label.class_names) if builtin else ""
            confidence = label.confidence if builtin else None
    return ShownObject(
        item,
        _short(source, SOURCE_CHARS),
        source[:TITLE_CHARS],
        value,
        names,
        confidence,
        _short(item.failure_reason or "", LABEL_CHARS),
    )


def _job_name(visit: ConsoleVisit) -> str:
    name = str(visit.request.path_params["job"])
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"A labeling job name has 1 to {MAX_NAME_CHARS} characters.", "job")
    return name


def _cursor(params: QueryParams) -> str | None:
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidInput(N_("Invalid cursor: it was not issued by this server for this search."), "cursor")
    return cursor


def _int(params: QueryParams, name: str, default: int | None) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return default
    if len(text) > MAX_INDEX_CHARS or not text.isdigit():
        raise InvalidInput(f"{name} must be a whole number.", name)
    return int(text)


@console_page
def jobs_page(visit: ConsoleVisit) -> Response:
    cursor = _cursor(visit.request.query_params)
    page = jobs.list_labeling_jobs(
        visit.svc,
        visit.caller,
        sort_by="CreationTime",
        sort_order="Descending",
        max_results=PAGE_SIZE,
        next_token=cursor,
    )
    here = urls.CONSOLE_LABELING_JOBS
    return visit.page(
        "labeling_jobs.html",
        title=visit._("Labeling jobs"),
        rows=[JobRow(job) for job in page.items],
        paged=cursor is not None,
        first_url=here,
        next_url=None if page.next_token is None else f"{here}?{urlencode({'cursor': page.next_token})}",
    )


@console_page
def job_page(visit: ConsoleVisit) -> Response:
    name = _job_name(visit)
    params = visit.request.query_params
    state = params.get("state", "").strip()
    if state and state not in objects.OBJECT_STATES:
        raise InvalidInput("state must be one of " + ", ".join(objects.OBJECT_STATES) + ".", "state")
    after = _int(params, "after", None)
    limit = _int(params, "limit", PAGE_SIZE) or 0
    page = objects.page_objects(visit.svc, visit.caller, name, state=state or None, after=after, limit=limit)
    job = page.job
    here = urls.fill(urls.CONSOLE_LABELING_JOB, job=job.name)
    keep: dict[str, Any] = {"state": state, "limit": "" if limit == PAGE_SIZE else str(limit)}

    def query(**more: Any) -> str:
        pairs = {key: value for key, value in {**keep, **more}.items() if value not in ("", None)}
        return f"{here}?{urlencode(pairs)}" if pairs else here

    return visit.page(
        "labeling_job.html",
        title=job.name,
        row=JobRow(job),
        job=job,
        request_facts=_request_facts(job),
        objects=[_shown(item, job.task_type is not None) for item in page.objects],
        states=objects.OBJECT_STATES,
        state=state,
        limit=limit,
        default_limit=PAGE_SIZE,
        paged=after is not None,
        first_url=query(),
        next_url=None if page.next_after is None else query(after=page.next_after),
        here=here,
        can_stop=job.status in _STOPPABLE,
        stop_url=urls.fill(urls.CONSOLE_LABELING_JOB_STOP, job=job.name),
        output_manifest=job.output_manifest_uri if job.status in _WITH_OUTPUT else None,
        notice=visit._(N_("The labeling job is stopping.")) if params.get("done") == "stopped" else None,
    )


def _request_facts(job: LabelingJob) -> dict[str, Any]:
    request, human = job.request, job.request.get("HumanTaskConfig", {})
    source = request.get("InputConfig", {}).get("DataSource", {}).get("S3DataSource", {})
    return {
        "manifest": source.get("ManifestS3Uri", ""),
        "output_path": request.get("OutputConfig", {}).get("S3OutputPath", ""),
        "attribute": job.attribute,
        "workers": human.get("NumberOfHumanWorkersPerDataObject"),
        "title": human.get("TaskTitle", ""),
        "labels": job.label_names,
    }


@console_page
def confirm_stop(visit: ConsoleVisit) -> Response:
    job, _ = jobs.describe_labeling_job(visit.svc, visit.caller, _job_name(visit))
    return visit.page(
        "labeling_job_stop.html",
        title=visit._("Stop this labeling job?"),
        row=JobRow(job),
        job=job,
        can_stop=job.status in _STOPPABLE,
        action_url=urls.fill(urls.CONSOLE_LABELING_JOB_STOP, job=job.name),
        back_url=JobRow(job).url,
    )


@console_action
def stop(visit: ConsoleVisit) -> Response:
    name = _job_name(visit)
    jobs.stop_labeling_job(visit.svc, visit.caller, name)  # NotFound for an unknown job
    job, _ = jobs.describe_labeling_job(visit.svc, visit.caller, name)
    return visit.redirect(JobRow(job).url + "?done=stopped")


ROUTES = [
    Route(urls.CONSOLE_LABELING_JOBS, jobs_page, methods=["GET"]),
    Route(urls.CONSOLE_LABELING_JOB, job_page, methods=["GET"]),
    Route(urls.CONSOLE_LABELING_JOB_STOP, confirm_stop, methods=["GET"]),
    Route(urls.CONSOLE_LABELING_JOB_STOP, stop, methods=["POST"]),
]
