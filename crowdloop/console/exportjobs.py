"""Export downloads made in the background: the console's download buttons (crowdloop.console.downloads).

An export reads every completed loop of a flow definition, so it never runs in a request: start() makes a
job that writes the file with the export module (crowdloop.export, as `crowdloop export` / `crowdloop
report` do, one process) on its own thread (crowdloop.blocking), into a folder of its own under
<data_dir>/console-downloads/<this process's folder>/. The page polls progress() (loops read / loops to read,
from the flow's counters) and then fetches the file, streamed from disk: memory does not grow with the export.

One job at a time per flow definition and format (asking again while it runs returns the same job), at most
MAX_RUNNING in a process. A job's folder is removed after its file has been downloaded, or KEEP_SECONDS
after the job ended. Several processes may share the data directory (crowdloop@.service instances, `serve
--workers`): each keeps its jobs in a folder of its own, removes only that one when it stops, and on first use
removes the folders of others left untouched for LEFTOVER_SECONDS (a process that died; a live one's folders
change whenever a job starts or ends, and a finished file is kept only KEEP_SECONDS).

Any of those processes answers for any job: a job keeps its state in its folder (JOB_FILE, rewritten at most
every SAVE_SECONDS while it runs and when it ends), so the page's progress requests and the file's download
may reach another process than the one that runs the job (`serve --workers` hands each connection to any of
its processes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crowdloop import stats
from crowdloop.caches import CacheSpec
from crowdloop.errors import CrowdloopError, InvalidInput, LimitExceeded, NotFound
from crowdloop.i18n import N_
from crowdloop.model import HumanLoopStatus
from crowdloop.runtime import Caller, Services

log = logging.getLogger("crowdloop.console")

FOLDER = "console-downloads"
KEEP_SECONDS = 3600
LEFTOVER_SECONDS = 2 * KEEP_SECONDS
MAX_RUNNING = 2
MAX_JOBS = 64  # jobs kept (running or waiting to be downloaded) in a process
JOB_FILE = "job.json"
SAVE_SECONDS = 0.5
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)
_COMPLETED = HumanLoopStatus.COMPLETED.value


@dataclass(frozen=True)
class Format:
    key: str  # in URLs and forms
    dataset: str  # crowdloop.export's dataset, or "report"
    output_format: str  # jsonl, parquet, html
    label: str
    media_type: str

    @property
    def suffix(self) -> str:
        return "." + self.output_format

    def file_name(self, flow_name: str) -> str:
        return f"{flow_name}-{self.dataset}{self.suffix}"


_PARQUET = "application/vnd.apache.parquet"
FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("preferences-jsonl", "preferences", "jsonl", N_("Preferences (JSONL)"), "application/x-ndjson"),
        Format("preferences-parquet", "preferences", "parquet", N_("Preferences (Parquet)"), _PARQUET),
        Format("rankings-jsonl", "rankings", "jsonl", N_("Rankings (JSONL)"), "application/x-ndjson"),
        Format("ratings-jsonl", "ratings", "jsonl", N_("Ratings (JSONL)"), "application/x-ndjson"),
        Format("labels-jsonl", "labels", "jsonl", N_("Labels (JSONL)"), "application/x-ndjson"),
        Format("report-html", "report", "html", N_("Agreement report (HTML)"), "text/html; charset=utf-8"),
    )
}
_DATASET_KINDS = {  # the kinds of answer each dataset is made of (crowdloop.export.options.KINDS)
    "preferences": ("ranking", "rating"),
    "rankings": ("ranking", "rating"),
    "ratings": ("rating",),
    "labels": ("label",),
    "report": ("ranking", "rating", "label"),
}


def formats_for(kind: str | None) -> list[Format]:
    """The formats the export can make of a flow whose answers are of this kind (None: not known yet, all)."""
    return [f for f in FORMATS.values() if kind is None or kind in _DATASET_KINDS[f.dataset]]


class Stopped(Exception):
    """The process is closing: the job gives up."""


@dataclass
class ExportJob:
    id: str
    account: str
    region: str
    flow_definition_id: int
    flow_name: str
    format: Format
    folder: Path
    started_at: datetime
    loops_total: int
    include_flagged: bool = False  # keep flagged answers (export --include-flagged); default: left out
    loops_done: int = 0
    state: str = "running"  # running, ready, failed
    error: str | None = None
    ended_at: datetime | None = None
    rows: int | None = None
    bytes: int | None = None  # the file's size, once ready
    flagged_left_out: int = 0  # flagged answers the export left out (its card's answers_excluded_flagged)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.folder / self.format.file_name(self.flow_name)

    def save(self) -> None:
        """Write the job's state to its folder (written whole, then renamed: a reader never sees half)."""
        state = {name: getattr(self, name) for name in _SAVED}
        state |= {"format": self.format.key, "started_at": self.started_at.isoformat()}
        state["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        partial = self.folder / f".{JOB_FILE}.{secrets.token_hex(4)}"
        partial.write_text(json.dumps(state))
        os.replace(partial, self.folder / JOB_FILE)

    @classmethod
    def load(cls, folder: Path) -> ExportJob | None:
        """The job another process keeps in `folder`, or None (gone, or not a job's folder)."""
        try:
            state = json.loads((folder / JOB_FILE).read_text())
            chosen = FORMATS[state.pop("format")]
            started_at = datetime.fromisoformat(state.pop("started_at"))
            ended = state.pop("ended_at")
            return cls(
                format=chosen,
                folder=folder,
                started_at=started_at,
                ended_at=datetime.fromisoformat(ended) if ended else None,
                **{name: state[name] for name in _SAVED},
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def progress(self) -> dict[str, Any]:
        """What the page shows: state, loops read of the loops to read, the error or the file's size."""
        ready = self.state == "ready"
        return {
            "id": self.id,
            "state": self.state,
            "format": self.format.key,
            "loops_done": self.loops_done,
            "loops_total": max(self.loops_total, self.loops_done),
            "error": self.error,
            "file_name": self.format.file_name(self.flow_name),
            "bytes": self.bytes if ready else None,
            "include_flagged": self.include_flagged,
            "flagged_left_out": self.flagged_left_out if ready else None,
        }


_SAVED = (  # the ExportJob fields kept in JOB_FILE as they are (format and times: converted)
    "id",
    "account",
    "region",
    "flow_definition_id",
    "flow_name",
    "loops_total",
    "include_flagged",
    "loops_done",
    "state",
    "error",
    "rows",
    "bytes",
    "flagged_left_out",
)


class ExportJobs:
    """The export jobs of one Services."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / f"{os.getpid()}-{secrets.token_hex(4)}"  # this process's jobs
        self._lock = threading.Lock()
        self._jobs: dict[str, ExportJob] = {}
        self._closing = threading.Event()
        self._swept_leftovers = False

    def start(
        self, svc: Services, caller: Caller, flow_name: str, format_key: str, *, include_flagged: bool = False
    ) -> ExportJob:
        """A job making this export (the one running for the flow, format and choice of flagged answers, if
        any). Flagged answers (docs/quality.md) are left out unless include_flagged."""
        chosen = FORMATS.get(format_key)
        if chosen is None:
            raise InvalidInput(f"Unknown download format '{format_key[:40]}'.")
        progress = stats.progress(svc, caller, flow_name)
        self.sweep(svc.clock.now())
        with self._lock:
            if not self._swept_leftovers:  # what processes that are gone left (before any job of ours started)
                _remove_leftovers(self.root, time.time() - LEFTOVER_SECONDS)
                self._swept_leftovers = True
            for job in self._jobs.values():
                same = (job.account, job.region, job.flow_definition_id) == (
                    caller.account,
                    caller.region,
                    progress.flow_definition_id,
                )
                if same and (job.format, job.include_flagged) == (chosen, include_flagged) and job.state == "running":
                    return job
            if self._closing.is_set() or sum(j.state == "running" for j in self._jobs.values()) >= MAX_RUNNING:
                raise LimitExceeded(f"{MAX_RUNNING} downloads are being prepared already; try again when one is done.")
            if len(self._jobs) >= MAX_JOBS:
                raise LimitExceeded(N_("Too many downloads are waiting to be fetched; try again later."))
            job_id = secrets.token_urlsafe(16)
            job = ExportJob(
                job_id,
                caller.account,
                caller.region,
                progress.flow_definition_id,
                progress.name,
                chosen,
                self.folder / job_id,
                svc.clock.now(),
                progress.loops.get(_COMPLETED, 0),
                include_flagged,
            )
            job.thread = threading.Thread(
                target=self._run, args=(svc, job, progress.arn), name=f"crowdloop-download-{job_id[:8]}", daemon=True
            )
            self._jobs[job_id] = job
        job.thread.start()
        return job

    def get(self, caller: Caller, job_id: str) -> ExportJob:
        """The caller's job, run by this process or another one sharing the data directory (NotFound:
        unknown, expired or already downloaded)."""
        job = self._jobs.get(job_id) or self._elsewhere(job_id)
        if job is not None and job.state == "ready" and not job.path.exists():  # fetched through another process
            with self._lock:
                self._jobs.pop(job_id, None)
            job = None
        if job is None or (job.account, job.region) != (caller.account, caller.region):
            raise NotFound("download", job_id[:40], N_("This download has expired or was fetched already."))
        return job

    def _elsewhere(self, job_id: str) -> ExportJob | None:
        """A job another process runs (or ran): found by its id in the other processes' folders."""
        if not _JOB_ID.fullmatch(job_id):
            return None
        try:
            folders = [path for path in self.root.iterdir() if path.is_dir() and path != self.folder]
        except FileNotFoundError:
            return None
        for folder in folders:
            job = ExportJob.load(folder / job_id)
            if job is not None:
                return job
        return None

    def delivered(self, job: ExportJob) -> None:
        """The file has been sent: forget the job and remove its folder."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now: datetime) -> None:
        """Remove the jobs that ended more than KEEP_SECONDS ago, with their files."""
        limit = now - timedelta(seconds=KEEP_SECONDS)
        with self._lock:
            old = [j for j in self._jobs.values() if j.ended_at is not None and j.ended_at <= limit]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)

    def wait(self, timeout_seconds: float = 30.0) -> None:
        """Wait for the running jobs (tests, close)."""
        deadline = time.monotonic() + timeout_seconds
        for job in list(self._jobs.values()):
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_seconds: float = 10.0) -> None:
        """Have running jobs give up, wait for them and remove every file."""
        self._closing.set()
        self.wait(timeout_seconds)
        with self._lock:
            self._jobs.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, svc: Services, job: ExportJob, flow_arn: str) -> None:
        try:
            job.folder.mkdir(parents=True, exist_ok=True)
            job.save()
            job.rows, job.flagged_left_out = _write(svc, job, flow_arn, self._tick(job))
            job.bytes = job.path.stat().st_size
            job.state = "ready"
        except Stopped:
            job.state, job.error = "failed", N_("The server is stopping.")
        except CrowdloopError as exc:  # a dataset the answers cannot make, a missing optional package
            job.state, job.error = "failed", exc.message
        except Exception:
            log.exception("download %s of %s failed", job.format.key, flow_arn)
            job.state, job.error = "failed", N_("The export failed; the server's log says why.")
        finally:
            job.ended_at = svc.clock.now()
            if job.state != "ready":
                job.path.unlink(missing_ok=True)  # the job's state stays, for whichever process is asked
            with contextlib.suppress(OSError):  # its folder is gone: the server is stopping
                job.save()

    def _tick(self, job: ExportJob) -> Any:
        closing = self._closing
        saved_at = time.monotonic()

        def tick() -> None:
            nonlocal saved_at
            job.loops_done += 1
            if closing.is_set():
                raise Stopped
            if time.monotonic() - saved_at >= SAVE_SECONDS:
                job.save()
                saved_at = time.monotonic()

        return tick


def _write(svc: Services, job: ExportJob, flow_arn: str, tick: Any) -> tuple[int, int]:
    """Write the job's file with the export module; returns the rows written (report: items) and the flagged
    answers left out."""
    from crowdloop.export.api import Export, export
    from crowdloop.export.options import make_options
    from crowdloop.export.report import render_html
    from crowdloop.export.sources import StoreSource

    source = StoreSource(svc.store, flow_arn, statuses=(_COMPLETED,))
    chosen = job.format
    run = Export([source], make_options(chosen.dataset, include_flagged=job.include_flagged), on_loop=tick, jobs=1)
    if chosen.dataset == "report":
        card = run.analyse()
        job.path.write_text(render_html(card), encoding="utf-8")
        return int(card["agreement"]["items"]), _flagged_left_out(card)
    result = export(run, job.path, chosen.output_format)
    return int(result.card["output"]["rows"]), _flagged_left_out(result.card)


def _flagged_left_out(card: dict[str, Any]) -> int:
    return int(card.get("counts", {}).get("answers_excluded_flagged", 0))


JOBS: CacheSpec[str, ExportJobs] = CacheSpec(
    "console export downloads",
    "one entry per Services (the download jobs of this process), never stale: it holds files, not store data",
    max_entries=1,
)
_MAKING = threading.Lock()


def _remove_leftovers(root: Path, before: float) -> None:
    """Remove the folders under root in which nothing changed since `before` (a time.time() value)."""
    try:
        folders = [path for path in root.iterdir() if path.is_dir()]
    except FileNotFoundError:
        return
    for folder in folders:
        try:
            newest = max([folder.stat().st_mtime, *(path.stat().st_mtime for path in folder.rglob("*"))])
        except FileNotFoundError:  # its process removed something meanwhile: it is alive
            continue
        if newest < before:
            shutil.rmtree(folder, ignore_errors=True)


def jobs(svc: Services) -> ExportJobs:
    """The Services' export jobs (made on first use)."""
    cache = svc.caches[JOBS]
    found = cache.get("jobs")
    if found is None:
        with _MAKING:
            found = cache.get("jobs")
            if found is None:
                found = ExportJobs(svc.settings.data_path / FOLDER)
                cache.put("jobs", found)
    return found


def close(svc: Services) -> None:
    """At shutdown: the jobs under way give up, and every download file is removed."""
    found = svc.caches[JOBS].get("jobs")
    if found is not None:
        found.close()
