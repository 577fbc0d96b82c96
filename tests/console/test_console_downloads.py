"""The flow page's downloads: each export the flow can make, prepared in the background with its progress,
then streamed; signed-in only, CSRF-checked, inputs limited, files removed after download or an hour."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from crowdloop import flows, quality, urls
from crowdloop.app import CrowdloopApp
from crowdloop.clock import ManualClock
from crowdloop.console import exportjobs
from crowdloop.errors import NotFound
from crowdloop.runtime import Services
from tests.console.kit import ORIGIN, ConsoleBrowser
from tests.export.helpers import CALLER, SEED, fill_store

JSON = {"Accept": "application/json"}
START = urls.fill(urls.CONSOLE_DOWNLOADS, flow="fd-seed")


@pytest.fixture
def seeded(services: Services) -> dict[str, str]:
    return fill_store(services, SEED)


@pytest.fixture
def jobs(root_app: CrowdloopApp) -> exportjobs.ExportJobs:
    """The server's download jobs (on the app's Services)."""
    return exportjobs.jobs(root_app.services)


def _start(console: ConsoleBrowser, key: str, flow: str = "fd-seed") -> Any:
    return console.client.post(
        urls.fill(urls.CONSOLE_DOWNLOADS, flow=flow),
        data={"csrf_token": console.csrf, "format": key},
        headers={**JSON, "Origin": ORIGIN},
    )


def _prepared(jobs: exportjobs.ExportJobs, console: ConsoleBrowser, key: str) -> dict[str, Any]:
    """Start a download, let it finish; its progress as the page sees it."""
    started = _start(console, key)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["state"] in ("running", "ready") and body["format"] == key
    jobs.wait()
    progress = console.get(body["progress_url"], headers=JSON)
    assert progress.status_code == 200
    result: dict[str, Any] = progress.json()
    return result


def _fetch(jobs: exportjobs.ExportJobs, console: ConsoleBrowser, key: str) -> Any:
    progress = _prepared(jobs, console, key)
    assert progress["state"] == "ready", progress
    assert progress["loops_done"] == progress["loops_total"] == 3  # every completed loop read, counted
    response = console.get(progress["file_url"])
    assert response.status_code == 200
    assert f'filename="{progress["file_name"]}"' in response.headers["content-disposition"]
    assert response.headers["content-security-policy"]  # the console's headers on the file too
    assert int(response.headers["content-length"]) == progress["bytes"]
    return response


def test_each_format_downloads_and_parses(jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object) -> None:
    prefs = _fetch(jobs, console, "preferences-jsonl")
    assert prefs.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in prefs.text.splitlines()]
    assert rows and {row["item_id"] for row in rows} <= {"seed-1", "seed-2", "seed-3"}
    assert {"prompt", "chosen", "rejected", "annotator"} <= set(rows[0])

    parquet = _fetch(jobs, console, "preferences-parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == len(rows) and sorted(table.column("item_id").to_pylist()) == sorted(
        row["item_id"] for row in rows
    )

    rankings = _fetch(jobs, console, "rankings-jsonl")
    assert {json.loads(line)["item_id"] for line in rankings.text.splitlines()} == {"seed-1", "seed-2", "seed-3"}

    report = _fetch(jobs, console, "report-html")
    assert report.headers["content-type"].startswith("text/html")
    assert "<h1>Agreement report</h1>" in report.text and "<svg" in report.text


def test_a_dataset_the_answers_cannot_make_fails_with_the_exports_reason(
    jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object
) -> None:
    assert [f.key for f in exportjobs.formats_for("ranking")] == [
        "preferences-jsonl",
        "preferences-parquet",
        "rankings-jsonl",
        "report-html",
    ]
    progress = _prepared(jobs, console, "labels-jsonl")
    assert progress["state"] == "failed" and "cannot make a labels dataset" in progress["error"]
    assert console.get(progress["file_url"]).status_code == 409
    page = console.get(progress["page_url"])
    assert page.status_code == 200 and "cannot make a labels dataset" in page.text


def test_a_file_is_removed_once_downloaded_and_an_unfetched_one_after_an_hour(
    services: Services, jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object
) -> None:
    assert isinstance(services.clock, ManualClock)
    fetched = _prepared(jobs, console, "rankings-jsonl")
    assert console.get(fetched["file_url"]).status_code == 200
    assert console.get(fetched["file_url"]).status_code == 404
    assert console.get(fetched["progress_url"], headers=JSON).status_code == 404
    root = jobs.folder  # this process's folder under <data_dir>/console-downloads
    assert root.parent == services.settings.data_path / exportjobs.FOLDER
    assert not any(root.iterdir())

    waiting = _prepared(jobs, console, "report-html")
    assert len(list(root.iterdir())) == 1
    services.clock.advance(exportjobs.KEEP_SECONDS - 1)
    _prepared(jobs, console, "rankings-jsonl")  # each new download sweeps the old ones
    assert console.get(waiting["progress_url"], headers=JSON).status_code == 200
    services.clock.advance(2)
    _prepared(jobs, console, "rankings-jsonl")
    assert console.get(waiting["progress_url"], headers=JSON).status_code == 404
    assert len(list(root.iterdir())) == 2  # the two rankings files, not yet fetched


def test_without_script_the_download_page_shows_progress_then_the_link(
    jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object
) -> None:
    started = console.post(START, {"format": "rankings-jsonl"})
    assert started.status_code == 303
    page_url = started.headers["location"]
    jobs.wait()
    page = console.get(page_url)
    assert page.status_code == 200 and "fd-seed-rankings.jsonl" in page.text
    assert 'http-equiv="refresh"' not in page.text  # ready: the page stops refreshing and links the file
    job = page_url.rsplit("/", 1)[1]
    assert f'href="{urls.fill(urls.CONSOLE_DOWNLOAD_FILE, job=job)}"' in page.text


def test_downloads_need_the_csrf_token_and_our_origin(
    jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object
) -> None:
    assert console.post(START, {"format": "rankings-jsonl"}, csrf="forged").status_code == 403
    assert console.post(START, {"format": "rankings-jsonl"}, origin="http://evil.test").status_code == 403
    assert console.client.get(START).status_code == 405  # starting one is a POST only
    assert not jobs._jobs


def test_downloads_need_a_console_session(
    jobs: exportjobs.ExportJobs,
    console: ConsoleBrowser,
    open_console: Callable[[], ConsoleBrowser],
    seeded: object,
) -> None:
    progress = _prepared(jobs, console, "rankings-jsonl")
    stranger = open_console()
    stranger.get("/console/signin")  # an anonymous visitor (with the sign-in form's token)
    assert stranger.post(START, {"format": "rankings-jsonl"}).status_code in (401, 403)
    assert stranger.get(progress["progress_url"], headers=JSON).status_code == 401
    for url in (progress["file_url"], progress["page_url"]):
        refused = stranger.get(url)
        assert refused.status_code == 303 and refused.headers["location"].startswith(urls.CONSOLE_SIGNIN)
    assert console.get(progress["file_url"]).status_code == 200  # still there for its requester


def test_inputs_are_limited(jobs: exportjobs.ExportJobs, console: ConsoleBrowser, seeded: object) -> None:
    assert _start(console, "").status_code == 400
    assert _start(console, "x" * 41).status_code == 400
    assert _start(console, "nonsense").status_code == 400
    assert _start(console, "rankings-jsonl", flow="Not_A_Name").status_code == 400
    assert _start(console, "rankings-jsonl", flow="fd-missing").status_code == 404
    assert console.get(urls.fill(urls.CONSOLE_DOWNLOAD_API, job="a" * 22), headers=JSON).status_code == 404
    assert console.get(urls.fill(urls.CONSOLE_DOWNLOAD_FILE, job="../etc")).status_code == 404
    assert not jobs._jobs


def test_the_flow_pages_partial_offers_what_the_flow_can_make(root_app: CrowdloopApp) -> None:
    """templates/_downloads.html as the flow page includes it (downloads.panel gives its context)."""
    from crowdloop.console import downloads

    console = root_app.console.state.console
    html = console.jinja.get_template("_downloads.html").render(
        csrf="token-1", asset=console.asset, **downloads.panel("fd-seed", None)
    )
    assert html.count('<form class="download-form" method="post"') == 1
    assert html.count('<button class="button secondary" type="submit" name="format"') == len(exportjobs.FORMATS)
    assert f'action="{START}"' in html and html.count('name="csrf_token" value="token-1"') == 1
    assert '<input type="checkbox" name="include_flagged" value="1">' in html
    assert '<script src="/console/static/downloads.js?v=' in html and "<script>" not in html
    labels = exportjobs.formats_for("label")
    assert [f.key for f in labels] == ["labels-jsonl", "report-html"]


def test_flagged_answers_are_left_out_unless_included(
    jobs: exportjobs.ExportJobs, console: ConsoleBrowser, services: Services, seeded: object
) -> None:
    """crowdloop:min-seconds 2 flags every seeded answer (each took 1 s): by default the download leaves them
    out and says how many, as `crowdloop export` does; include_flagged=1 keeps them."""
    flows.set_quality(services, CALLER, "fd-seed", {"min-seconds": "2"})
    services.caches[quality.CONFIGS].clear()  # the flow's quality settings are cached for 5 s
    left_out = _prepared(jobs, console, "rankings-jsonl")
    assert left_out["include_flagged"] is False
    assert left_out["state"] == "ready", left_out
    assert left_out["flagged_left_out"] == 9
    assert console.get(left_out["file_url"]).text == ""  # no rows: every answer was flagged

    included = console.client.post(
        START,
        data={"csrf_token": console.csrf, "format": "rankings-jsonl", "include_flagged": "1"},
        headers={**JSON, "Origin": ORIGIN},
    )
    assert included.status_code == 202, included.text
    jobs.wait()
    progress = console.get(included.json()["progress_url"], headers=JSON).json()
    assert progress["include_flagged"] is True and progress["flagged_left_out"] == 0
    rows = [json.loads(line) for line in console.get(progress["file_url"]).text.splitlines()]
    assert rows and all(row["worker_flagged"] is True for row in rows), rows

    page = console.post(START, {"format": "report-html"})
    assert page.status_code == 303
    jobs.wait()
    assert "9 flagged answers were left out." in console.get(page.headers["location"]).text
    assert _start(console, "rankings-jsonl").status_code == 202
    refused = console.client.post(
        START,
        data={"csrf_token": console.csrf, "format": "rankings-jsonl", "include_flagged": "yes"},
        headers={**JSON, "Origin": ORIGIN},
    )
    assert refused.status_code == 400 and "include_flagged" in refused.text


def test_processes_sharing_a_data_directory_keep_each_others_downloads(tmp_path: Path) -> None:
    """crowdloop@.service instances (or `serve --workers`) share <data_dir>: a process removes only its own
    folder when it stops, and, on its first download, the folders of processes gone for LEFTOVER_SECONDS."""
    root = tmp_path / exportjobs.FOLDER
    mine, other = exportjobs.ExportJobs(root), exportjobs.ExportJobs(root)
    assert mine.folder != other.folder and mine.folder.parent == other.folder.parent == root
    (other.folder / "job").mkdir(parents=True)
    (other.folder / "job" / "export.jsonl").write_text("{}")
    gone = root / "12345-abcdabcd"
    (gone / "job").mkdir(parents=True)
    (gone / "job" / "export.jsonl").write_text("{}")
    old = time.time() - exportjobs.LEFTOVER_SECONDS - 60
    for path in (gone / "job" / "export.jsonl", gone / "job", gone):
        os.utime(path, (old, old))
    exportjobs._remove_leftovers(root, time.time() - exportjobs.LEFTOVER_SECONDS)
    assert not gone.exists() and (other.folder / "job" / "export.jsonl").exists()
    (mine.folder / "job").mkdir(parents=True)
    mine.close()
    assert not mine.folder.exists() and (other.folder / "job" / "export.jsonl").exists()


def test_any_process_sharing_the_data_directory_answers_for_a_job(
    services: Services, seeded: object, tmp_path: Path
) -> None:
    """`serve --workers` hands each request to any of its processes: the page's progress requests and the
    download may reach another process than the one running the job."""
    root = tmp_path / exportjobs.FOLDER
    runner, other = exportjobs.ExportJobs(root), exportjobs.ExportJobs(root)
    try:
        job = runner.start(services, CALLER, "fd-seed", "preferences-jsonl")
        runner.wait()
        seen = other.get(CALLER, job.id)
        assert seen is not job and seen.progress() == job.progress()
        assert seen.state == "ready" and seen.path.read_bytes() == job.path.read_bytes() and seen.bytes
        with pytest.raises(NotFound):  # another account's caller finds nothing
            other.get(dataclasses.replace(CALLER, account="210987654321"), job.id)
        with pytest.raises(NotFound):  # an id that is no job's (nor a path)
            other.get(CALLER, "../" + job.id[3:])
        other.delivered(seen)
        for jobs in (other, runner):  # fetched once: gone for every process
            with pytest.raises(NotFound):
                jobs.get(CALLER, job.id)
    finally:
        runner.close()
        other.close()


def test_a_failed_job_says_why_to_any_process(services: Services, tmp_path: Path) -> None:
    fill_store(services, SEED)
    root = tmp_path / exportjobs.FOLDER
    runner, other = exportjobs.ExportJobs(root), exportjobs.ExportJobs(root)
    try:
        job = runner.start(services, CALLER, "fd-seed", "labels-jsonl")  # the seed's answers are rankings
        runner.wait()
        seen = other.get(CALLER, job.id)
        assert seen.state == job.state == "failed" and seen.error == job.error and seen.error
        assert not job.path.exists()
    finally:
        runner.close()
        other.close()
