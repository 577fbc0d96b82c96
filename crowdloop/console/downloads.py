"""The flow page's downloads (the exports of crowdloop.export, prepared in the background by
crowdloop.console.exportjobs) and its agreement figures as JSON (crowdloop.console.agreement).

| method | path                                  | what                                                          |
|--------|---------------------------------------|---------------------------------------------------------------|
| POST   | /console/flows/{flow}/downloads       | format= [include_flagged=1]: start preparing an export (JSON: |
|        |                                       | 202 + its progress; a form: 303 to the download's page)       |
| GET    | /console/downloads/{job}              | the download's page: progress, then the link (no script: it   |
|        |                                       | refreshes itself while the export runs)                       |
| GET    | /console/api/downloads/{job}          | its progress as JSON (downloads.js polls it)                  |
| GET    | /console/downloads/{job}/file         | the finished file, streamed from disk; then it is removed     |
| GET    | /console/api/flows/{flow}/agreement   | the flow's agreement summary (a refresh starts when due)      |

The flow page (the loops part) shows the buttons with the partial templates/_downloads.html: give it the
context `panel(flow_name, summary)` returns (`download_flow`: the flow definition's name;
`download_formats`: the exportjobs.Format list the flow's kind of answer can make); it loads
static/downloads.js itself.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from crowdloop import urls
from crowdloop.console import agreement, exportjobs
from crowdloop.console.exportjobs import ExportJob
from crowdloop.console.web import ConsoleVisit, console_action, console_page, wants_json
from crowdloop.errors import Conflict, InvalidInput, NotFound
from crowdloop.i18n import N_
from crowdloop.insights import AgreementSummary

_FLOW_NAME = re.compile(r"[a-z0-9](-*[a-z0-9]){0,62}")  # CreateFlowDefinition's FlowDefinitionName
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{10,40}")
MAX_FORMAT_CHARS = 40


def panel(flow_name: str, summary: AgreementSummary | None) -> dict[str, Any]:
    """The context of templates/_downloads.html for a flow (summary: its agreement_summary, for the kind)."""
    return {
        "download_flow": flow_name,
        "download_formats": exportjobs.formats_for(summary.kind if summary is not None else None),
    }


def flow_name(visit: ConsoleVisit) -> str:
    name = str(visit.request.path_params["flow"])
    if not _FLOW_NAME.fullmatch(name):
        raise InvalidInput(N_("That is not a flow definition name."), "flow")
    return name


def _job(visit: ConsoleVisit) -> ExportJob:
    job_id = str(visit.request.path_params["job"])
    if not _JOB_ID.fullmatch(job_id):
        raise NotFound("download", job_id[:40], N_("This download has expired or was fetched already."))
    return exportjobs.jobs(visit.svc).get(visit.caller, job_id)


def _progress(job: ExportJob) -> dict[str, Any]:
    return {
        **job.progress(),
        "progress_url": urls.fill(urls.CONSOLE_DOWNLOAD_API, job=job.id),
        "page_url": urls.fill(urls.CONSOLE_DOWNLOAD, job=job.id),
        "file_url": urls.fill(urls.CONSOLE_DOWNLOAD_FILE, job=job.id),
    }


@console_action(slow=True)  # the first download makes the downloads folder (disk), and reads the counters
def start_download(visit: ConsoleVisit) -> Response:
    name = flow_name(visit)
    chosen = visit.data.get("format")
    if not isinstance(chosen, str) or not chosen or len(chosen) > MAX_FORMAT_CHARS:
        raise InvalidInput(N_("Choose a download format."), "format")
    flagged = visit.data.get("include_flagged", "")
    if flagged not in ("", "1"):
        raise InvalidInput("include_flagged must be 1 or absent.", "include_flagged")
    job = exportjobs.jobs(visit.svc).start(visit.svc, visit.caller, name, chosen, include_flagged=flagged == "1")
    if wants_json(visit.request):
        return visit.json(_progress(job), 202)
    return visit.redirect(urls.fill(urls.CONSOLE_DOWNLOAD, job=job.id))


@console_page
def download_progress(visit: ConsoleVisit) -> Response:
    return visit.json(_progress(_job(visit)))


@console_page
def download_page(visit: ConsoleVisit) -> Response:
    job = _job(visit)
    return visit.page(
        "download.html", title=f"Download {job.format.file_name(job.flow_name)}", job=job, progress=_progress(job)
    )


@console_page
def download_file(visit: ConsoleVisit) -> Response:
    job = _job(visit)
    if job.state != "ready":
        raise Conflict(
            N_("This download is not ready yet.") if job.state == "running" else (job.error or N_("It failed."))
        )
    response = FileResponse(
        job.path,
        media_type=job.format.media_type,
        filename=job.format.file_name(job.flow_name),
        background=BackgroundTask(exportjobs.jobs(visit.svc).delivered, job),
    )
    return visit.finish(response)


@console_page
def agreement_json(visit: ConsoleVisit) -> Response:
    summary = agreement.summary_for(visit.svc, visit.caller, flow_name(visit))
    return visit.json(summary_json(summary))


def summary_json(summary: AgreementSummary | None) -> dict[str, Any]:
    """An agreement summary as the flow page reads it (None: not computed yet)."""
    if summary is None:
        return {"computed": False}
    return {
        "computed": True,
        "kind": summary.kind,
        "alpha": summary.alpha,
        "level": summary.level,
        "kendall_w": summary.kendall_w,
        "items": summary.items,
        "answers_seen": summary.answers_seen,
        "computed_at": summary.computed_at.isoformat(),
        "note": summary.note,
        "stale": summary.stale,
        "workers": [
            {"worker_id": w.worker_id, "agreement": w.agreement, "position_bias": w.position_bias, "items": w.items}
            for w in summary.workers.values()
        ],
    }


ROUTES = [
    Route(urls.CONSOLE_DOWNLOADS, start_download, methods=["POST"]),
    Route(urls.CONSOLE_DOWNLOAD, download_page, methods=["GET"]),
    Route(urls.CONSOLE_DOWNLOAD_API, download_progress, methods=["GET"]),
    Route(urls.CONSOLE_DOWNLOAD_FILE, download_file, methods=["GET"]),
    Route(urls.CONSOLE_AGREEMENT_API, agreement_json, methods=["GET"]),
]
