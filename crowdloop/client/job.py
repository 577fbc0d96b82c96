"""A job of crowdloop.Client: one flow definition and its human loops, followed through the A2I and S3 APIs
only (so it works against Amazon A2I as well as crowdloop)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crowdloop.client.client import Client

OUTPUT_NAME = "output.json"
FINISHED = ("Completed", "Stopped", "Failed")


@dataclass(frozen=True)
class Progress:
    """How many of a job's loops are in each status (ListHumanLoops)."""

    total: int
    completed: int = 0
    in_progress: int = 0
    stopped: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.completed + self.stopped + self.failed

    @property
    def done(self) -> bool:
        return self.finished >= self.total

    def __str__(self) -> str:
        parts = [f"{self.completed}/{self.total} completed", f"{self.in_progress} in progress"]
        parts += [f"{n} {name}" for name, n in (("stopped", self.stopped), ("failed", self.failed)) if n]
        return ", ".join(parts)


class Job:
    """The human loops of one flow definition. `name` is the flow definition's name; its loops are named
    `<name>-<item number>` (from 0, in the order of the items given)."""

    def __init__(self, client: Client, name: str, flow_arn: str, output_path: str, total: int, kind: str) -> None:
        self.client = client
        self.name = name
        self.flow_arn = flow_arn
        self.output_path = output_path.rstrip("/")
        self.total = total
        self.kind = kind

    def __repr__(self) -> str:
        return f"<crowdloop Job {self.name!r}: {self.kind}, {self.total} items>"

    @property
    def output_prefix(self) -> str:
        """Where A2I writes this flow definition's output.json files: S3OutputPath/<flow definition name>/."""
        return f"{self.output_path}/{self.name}/"

    # --- progress ------------------------------------------------------------------------------------------

    def loop_statuses(self) -> Iterator[tuple[str, str]]:
        """(loop name, status) of every loop of the job, newest first."""
        paginator = self.client.a2i.get_paginator("list_human_loops")
        for page in paginator.paginate(FlowDefinitionArn=self.flow_arn, PaginationConfig={"PageSize": 100}):
            for summary in page.get("HumanLoopSummaries", []):
                yield summary["HumanLoopName"], summary["HumanLoopStatus"]

    def progress(self) -> Progress:
        counts = Counter(status for _name, status in self.loop_statuses())
        return Progress(
            total=max(self.total, sum(counts.values())),
            completed=counts["Completed"],
            in_progress=counts["InProgress"] + counts["Stopping"],
            stopped=counts["Stopped"],
            failed=counts["Failed"],
        )

    def wait(self, timeout: float | None = None, poll_seconds: float = 5.0, progress_bar: bool = True) -> Progress:
        """Wait until every loop is Completed, Stopped or Failed (or `timeout` seconds passed: TimeoutError),
        with a progress bar (tqdm's: a text bar in a terminal, a widget in Jupyter when ipywidgets is there)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = _bar(self.total, f"{self.name}") if progress_bar else None
        try:
            while True:
                now = self.progress()
                if bar is not None:
                    bar.total = now.total
                    bar.n = now.finished
                    bar.set_postfix_str(f"{now.in_progress} in progress", refresh=False)
                    bar.refresh()
                if now.done:
                    return now
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"job {self.name}: {now} after {timeout} s")
                time.sleep(
                    poll_seconds if deadline is None else max(0.0, min(poll_seconds, deadline - time.monotonic()))
                )
        finally:
            if bar is not None:
                bar.close()

    # --- answers -------------------------------------------------------------------------------------------

    def outputs(self) -> Iterator[dict[str, Any]]:
        """Every output.json document of the job (Completed loops, and Stopped ones that had answers)."""
        s3 = self.client.s3
        bucket, _, prefix = self.output_prefix.removeprefix("s3://").partition("/")
        keys = [
            entry["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for entry in page.get("Contents", [])
            if entry["Key"].endswith("/" + OUTPUT_NAME)
        ]

        def read(key: str) -> dict[str, Any]:
            document: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            return document

        with ThreadPoolExecutor(max_workers=self.client.max_concurrency) as pool:
            yield from pool.map(read, keys)

    def results(self) -> list[dict[str, Any]]:
        """One row per answer, in item order: item (its number), loop, worker, answer (answerContent), the
        input, and the answer's times as output.json gives them."""
        rows = []
        for document in self.outputs():
            loop_name = document.get("humanLoopName", "")
            item = _item_number(loop_name, self.name)
            task = (document.get("inputContent") or {}).get("taskObject", document.get("inputContent"))
            for answer in document.get("humanAnswers", []):
                rows.append(
                    {
                        "item": item,
                        "loop": loop_name,
                        "worker_id": answer.get("workerId"),
                        "answer": answer.get("answerContent"),
                        "input": task,
                        "accepted_at": answer.get("acceptanceTime"),
                        "submitted_at": answer.get("submissionTime"),
                        "time_spent_seconds": answer.get("timeSpentInSeconds"),
                    }
                )
        rows.sort(key=lambda row: (row["item"] if row["item"] is not None else -1, row["submitted_at"] or ""))
        return rows

    # --- datasets (crowdloop.export over the job's output.json files) ---------------------------------------

    def preferences(self, **options: Any) -> Any:
        """A datasets.Dataset of (prompt, chosen, rejected) pairs: crowdloop.export's `preferences` (options:
        policy, consensus, min_agreement ... as in docs/export.md)."""
        return self._dataset("preferences", options)

    def rankings(self, **options: Any) -> Any:
        return self._dataset("rankings", options)

    def ratings(self, **options: Any) -> Any:
        return self._dataset("ratings", options)

    def labels(self, **options: Any) -> Any:
        return self._dataset("labels", options)

    def report(self, html: str | Path | None = None) -> str:
        """Agreement, position bias and the workers (as `crowdloop report`); the text, and an HTML page when
        `html` names a file."""
        from crowdloop.export import api
        from crowdloop.export.report import render_html, render_text

        card = api.run(self.output_prefix, "report", s3_client=self.client.s3, jobs=1).analyse()
        if html is not None:
            Path(html).write_text(render_html(card))
        return render_text(card)

    def _dataset(self, dataset: str, options: dict[str, Any]) -> Any:
        from crowdloop.export import api

        return api.to_dataset(self.output_prefix, dataset, s3_client=self.client.s3, jobs=1, **options)


def _item_number(loop_name: str, job_name: str) -> int | None:
    suffix = loop_name.removeprefix(job_name + "-")
    return int(suffix) if suffix != loop_name and suffix.isdigit() else None


def _bar(total: int, description: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="loop")
