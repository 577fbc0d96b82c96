"""Loops for the export tests, made through the real domain calls (start, claim, submit) or written as
A2I output.json files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowdloop import queue
from crowdloop.clock import ManualClock
from crowdloop.loops import stop_human_loop
from crowdloop.runtime import Services
from tests.domain.loopsetup import CALLER, TEMPLATE, make_flow, make_worker, start

FLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/{flow}"


@dataclass(frozen=True)
class Loop:
    name: str
    prompt: Any  # a string, or chat messages [{"role", "content"}, ...]
    responses: list[Any]
    answers: list[tuple[str, Any]]  # (worker key, answerContent)
    extra_input: dict[str, Any] | None = None

    @property
    def input(self) -> dict[str, Any]:
        return {"taskObject": {"prompt": self.prompt, "responses": self.responses, **(self.extra_input or {})}}


def ranks(*values: Any) -> dict[str, Any]:
    """The seed template's answer: response_{i}_ranking for i = 1, 2, ..."""
    return {f"response_{i}_ranking": v for i, v in enumerate(values, start=1) if v is not None}


# The seed convention with the mistakes real answers have: ranks as strings and as numbers, a tie, a
# missing rank, a rank out of range, a rank that is not a number.
SEED = [
    Loop(
        "seed-1",
        "Why is the sky blue?",
        ["Rayleigh scattering.", "Because of the sea.", "It is not."],
        [("w1", ranks("1", "2", "3")), ("w2", ranks("2", "1", "3")), ("w3", ranks(1, 1, 3))],
    ),
    Loop(
        "seed-2",
        "Name a prime.",
        ["4", "6", "7"],
        [("w1", ranks("3", "2", "1")), ("w2", ranks("3", "1")), ("w3", ranks("4", "1", "2"))],
    ),
    Loop(
        "seed-3",
        "Say hello.",
        ["Hello.", "Hi!", "Go away."],
        [("w1", ranks("best", "2", "3")), ("w2", ranks("2", "1", "3")), ("w3", ranks("1", "2", "3"))],
    ),
]


def fill_store(
    svc: Services,
    loops: list[Loop],
    flow_name: str = "fd-seed",
    task_count: int = 3,
    seconds_between: list[float] | None = None,
    stopped: frozenset[str] = frozenset(),
    template: str = TEMPLATE,
) -> dict[str, str]:
    """A flow definition with these loops, each answered by its workers through claim and submit (in the
    order listed). The clock advances a second after each start, or seconds_between[i] after loop i (0:
    loops created at the same instant). Loops named in `stopped` are stopped before any answer (list no
    answers for them). The task UI is `template`. Returns worker key -> worker id (the id output.json reports)."""
    assert isinstance(svc.clock, ManualClock)
    flow = make_flow(svc, flow_name, task_count=task_count, template=template)
    keys = sorted({key for loop in loops for key, _ in loop.answers})
    workers = {key: make_worker(svc, f"{key}-{flow_name}@example.org") for key in keys}
    for number, loop in enumerate(loops):
        start(svc, flow, loop.name, loop.input)
        svc.clock.advance(1 if seconds_between is None else seconds_between[number])
    for name in sorted(stopped):
        stop_human_loop(svc, CALLER, name)
    for loop in loops:
        for key, answer in loop.answers:
            lease = queue.claim(svc, workers[key].id, flow.id)
            assert lease is not None and lease.human_loop_name == loop.name
            svc.clock.advance(1)
            queue.submit(svc, lease.assignment_id, workers[key].id, answer, 1.0)
    return {key: worker.worker_id for key, worker in workers.items()}


def write_outputs(root: Path, loops: list[Loop], flow_name: str = "fd-files") -> dict[str, str]:
    """output.json files as A2I writes them (worker ids are the worker keys)."""
    for number, loop in enumerate(loops):
        folder = root / flow_name / "2026" / "01" / "02" / "03" / "04" / f"{number:02d}" / loop.name
        folder.mkdir(parents=True)
        document = {
            "flowDefinitionArn": FLOW_ARN.format(flow=flow_name),
            "humanAnswers": [
                {
                    "acceptanceTime": "2026-01-02T03:04:05.000Z",
                    "answerContent": answer,
                    "submissionTime": "2026-01-02T03:04:06.000Z",
                    "timeSpentInSeconds": 1.0,
                    "workerId": key,
                }
                for key, answer in loop.answers
            ],
            "humanLoopName": loop.name,
            "inputContent": loop.input,
        }
        (folder / "output.json").write_text(json.dumps(document))
    return {key: key for loop in loops for key, _ in loop.answers}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
