"""crowdloop.Client against a real `crowdloop serve` started by crowdloop.local(): the four kinds of job, their
tasks answered by workers signed in to the portal over HTTP, and what the job object reads back (progress,
results, the export's datasets, the report) through the A2I and S3 APIs only."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import crowdloop
from crowdloop.client import Job, JobSetupError, LocalClient
from tests.e2e.portal_connection import PortalConnection

WORKERS = [("ann@example.org", "pass-ann-1"), ("bo@example.org", "pass-bo-22"), ("cy@example.org", "pass-cy-333")]
ITEMS = [
    {"prompt": "What is 2 + 2?", "responses": ["4", "5", "four, I think"], "id": "q1"},
    {"prompt": "Capital of France?", "responses": ["Paris", "Lyon", "Nice"], "id": "q2"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalClient]:
    data_dir = tmp_path_factory.mktemp("client") / "crowdloop-data"
    with crowdloop.local(data_dir) as started:
        assert isinstance(started, LocalClient)
        for email, password in WORKERS:
            _cli(data_dir, "workers", "add", email, "--password", password, "--group", "raters")
        started.sagemaker.create_workteam(
            WorkteamName="raters",
            Description="client tests",
            MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["raters"]}}],
        )
        yield started
    assert started.server.process.poll() is not None, "close() leaves the server running"


def _cli(data_dir: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crowdloop", *args, "--data-dir", str(data_dir)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _answer_all(client: LocalClient, job: Job, workers: int, answer: Callable[[], dict[str, Any]]) -> None:
    """Each of the first `workers` workers signs in to the portal and answers every task it is given."""
    errors: list[BaseException] = []

    def work(email: str, password: str) -> None:
        portal = PortalConnection(client.server.port)
        try:
            portal.sign_in(email, password)
            (job_id,) = portal.job_ids()
            while True:
                reply = portal.post_form(f"/jobs/{job_id}/start")
                if reply.status != 303 or not reply.headers["location"].startswith("/tasks/"):
                    return  # nothing left for this worker
                path = reply.headers["location"]
                page = portal.get(path)
                lease = page.text.split('data-lease="', 1)[1].split('"', 1)[0]
                sent = portal.submit(int(path.rsplit("/", 1)[1]), lease, answer())
                assert sent.status == 200, sent.text
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            portal.close()

    threads = [threading.Thread(target=work, args=pair) for pair in WORKERS[:workers]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_rank_three_workers(client: LocalClient) -> None:
    job = client.rank(ITEMS, team="raters", workers=3, instructions="Best answer first.", progress_bar=False)
    assert job.total == 2 and job.progress().in_progress == 2
    _answer_all(
        client,
        job,
        3,
        lambda: {"ranking": {"ordinalRankingDimensions": [{"name": "Overall", "responseRankings": [1, 2, 3]}]}},
    )
    final = job.wait(timeout=60, poll_seconds=0.5, progress_bar=False)
    assert (final.completed, final.total) == (2, 2)

    rows = job.results()
    assert len(rows) == 6
    assert [row["item"] for row in rows] == [0, 0, 0, 1, 1, 1]
    assert {row["input"]["id"] for row in rows} == {"q1", "q2"}
    assert len({row["worker_id"] for row in rows}) == 3

    preferences = job.preferences()
    assert preferences.num_rows > 0
    first = preferences[0]
    assert first["prompt"] in {"What is 2 + 2?", "Capital of France?"}
    assert (first["chosen"], first["rejected"]) in {
        ("4", "5"),
        ("4", "four, I think"),
        ("5", "four, I think"),
        ("Paris", "Lyon"),
        ("Paris", "Nice"),
        ("Lyon", "Nice"),
    }
    rankings = job.rankings()
    assert sorted(rankings["prompt"]) == sorted(["What is 2 + 2?"] * 3 + ["Capital of France?"] * 3)
    report = job.report()
    assert "agreement" in report.lower()

    again = client.job(job.name)  # as from another session
    assert (again.total, again.flow_arn, again.kind) == (2, job.flow_arn, "rank")


def test_rate_compare_label_one_worker(client: LocalClient) -> None:
    rate = client.rate(
        [{"prompt": "Say hi", "response": "hi"}], team="raters", workers=1, scale=(1, 5), progress_bar=False
    )
    _answer_all(client, rate, 1, lambda: {"response_1_rating": 4})
    rate.wait(timeout=60, poll_seconds=0.5, progress_bar=False)
    ratings = rate.ratings()
    assert ratings.num_rows == 1 and ratings[0]["response"] == "hi" and ratings[0]["rating"] == 4

    pair = client.compare(
        [{"prompt": "Pick", "responses": ["left", "right"]}], team="raters", workers=1, progress_bar=False
    )
    _answer_all(client, pair, 1, lambda: {"choice": {"label": "B is better"}})
    pair.wait(timeout=60, poll_seconds=0.5, progress_bar=False)
    chosen = pair.preferences()
    assert (chosen[0]["chosen"], chosen[0]["rejected"]) == ("right", "left")

    labels = client.label(
        ["fine text", "rude text"], labels=["ok", "toxic"], team="raters", workers=1, progress_bar=False
    )
    _answer_all(client, labels, 1, lambda: {"label": {"label": "ok"}})
    labels.wait(timeout=60, poll_seconds=0.5, progress_bar=False)
    labelled = labels.labels()
    assert sorted(labelled["label"]) == ["ok", "ok"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.rank(ITEMS, team="nobody"), "there is no work team 'nobody'"),
        (lambda c: c.rank([{"prompt": "x", "responses": ["only one"]}], team="raters"), "needs at least 2"),
        (lambda c: c.rank([{"prompt": "", "responses": ["a", "b"]}], team="raters"), "'prompt' must be"),
        (lambda c: c.compare([{"prompt": "x", "responses": ["a", "b", "c"]}], team="raters"), "exactly 2"),
        (lambda c: c.rank([{"prompt": "x", "responses": [1, 2]}], team="raters"), "list of strings"),
        (lambda c: c.label(["t"], labels=["only"], team="raters"), "at least two different labels"),
        (lambda c: c.rank(ITEMS, team="raters", workers=4), "workers must be 1, 2 or 3"),
        (lambda c: c.rank(ITEMS, team="raters", name="Bad Name"), "lower-case letters"),
        (lambda c: c.rank([], team="raters"), "at least one item"),
        (lambda c: c.rate([{"prompt": "x", "response": "y"}], team="raters", scale=(5, 1)), "low < high"),
        (lambda c: c.rank([{"prompt": "x", "responses": ["a" * 60_000, "b" * 60_000]}], team="raters"), "100 KiB"),
    ],
)
def test_bad_requests_say_what_is_wrong(client: LocalClient, call: Callable[[Any], Any], message: str) -> None:
    with pytest.raises(JobSetupError, match=message.replace("(", r"\(")):
        call(client)
