"""Where loops come from: completed loops of flow definitions in the crowdloop store, or A2I output.json
files in a local folder or under an s3:// prefix. Every source yields RawLoop objects one at a time
(memory does not grow with the number of loops) and describes itself for the dataset card.

    Source (protocol): loops(problems) -> Iterator[RawLoop]; describe() -> dict
    ├── StoreSource    flow definitions by name or ARN; pages of loops by id, their submitted answers
    ├── FolderSource   every output.json under a folder, in sorted path order
    └── S3Source       every .../output.json under s3://bucket/prefix (boto3; AWS_ENDPOINT_URL_S3 works)

open_source(spec, ...) picks one: `s3://...` is S3, an existing folder is a folder, anything else is the
name (or ARN) of a flow definition in the store.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from orjson import loads as _loads

from crowdloop import gold, quality
from crowdloop.answers import submitted_answers
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.export.model import Problem, ProblemLog, RawAnswer, RawLoop
from crowdloop.loops import FlowIdentity, count_loops, flow_definitions_named, loop_page, loop_range_cuts
from crowdloop.model import HumanLoopStatus
from crowdloop.output import RESPONSE_ORDER, loads_json
from crowdloop.shuffle import decode as decode_order

if TYPE_CHECKING:
    from crowdloop.store import Store

PAGE_LOOPS = 2000
OUTPUT_NAME = "output.json"


class Source(Protocol):
    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]: ...

    def describe(self) -> dict[str, Any]: ...


def open_source(
    spec: str,
    *,
    store: Store | None = None,
    s3_client: Any = None,
    statuses: tuple[str, ...] = (HumanLoopStatus.COMPLETED.value,),
) -> Source:
    if spec.startswith("s3://"):
        return S3Source(spec, client=s3_client)
    path = Path(spec).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if store is None:
        raise InvalidInput(
            f"'{spec}' is neither a folder nor an s3:// prefix, and no store was given to look "
            "up a flow definition of that name.",
            "source",
        )
    return StoreSource(store, spec, statuses=statuses)


def loop_from_document(document: Any, origin: str, problems: ProblemLog) -> RawLoop | None:
    """A RawLoop from a parsed output.json; None (and a problem) when its shape is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("humanLoopName"), str):
        problems.add(Problem(origin, None, "not an A2I output.json", "no humanLoopName"))
        return None
    name = document["humanLoopName"]
    raw_answers = document.get("humanAnswers")
    if not isinstance(raw_answers, list):
        problems.add(Problem(name, None, "not an A2I output.json", f"{origin}: humanAnswers is not a list"))
        return None
    answers = []
    for position, entry in enumerate(raw_answers):
        worker = entry.get("workerId") if isinstance(entry, dict) else None
        if not isinstance(worker, str) or not worker:
            problems.add(Problem(name, f"#{position + 1}", "answer without workerId", origin))
            continue
        answers.append(RawAnswer(worker, entry.get("answerContent"), entry.get(RESPONSE_ORDER), _seconds(entry)))
    arn = str(document.get("flowDefinitionArn", ""))
    flow = arn.rsplit("/", 1)[-1] if arn else ""
    return RawLoop(name, flow, document.get("inputContent"), tuple(answers), origin)


def _seconds(entry: dict[str, Any]) -> float | None:
    """An output.json answer's timeSpentInSeconds (None when missing or not a number)."""
    value = entry.get("timeSpentInSeconds")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _find_flow(store: Store, flow: str) -> FlowIdentity:
    with store.read() as conn:
        found = flow_definitions_named(conn, flow)
    if not found:
        raise NotFound(
            "flow definition",
            flow,
            f"No flow definition named '{flow}' in the store at {_safe_url(store.url)}, and no folder of that name.",
        )
    if len(found) > 1:
        raise InvalidInput(
            f"Several flow definitions are named '{flow}' (in different accounts or regions); "
            "pass one ARN: " + ", ".join(f.arn for f in found),
            "source",
        )
    return found[0]


@dataclass(frozen=True)
class LoopRange:
    """A range of a flow definition's loops in creation order: after the key `start` (created_at in
    microseconds, id; None: from the first loop) up to and including the key `stop` (None: to the last),
    `expected` loops when it was cut (a page asks for no more)."""

    start: tuple[int, int] | None = None
    stop: tuple[int, int] | None = None
    expected: int = 0


@dataclass
class StoreReads:
    """What a store source has read: how many loops, and the template hashes they were started with."""

    loops: int = 0
    templates: set[str] = field(default_factory=set)

    def merge(self, other: StoreReads) -> None:
        """Add what a chunk of the same source read."""
        self.loops += other.loops
        self.templates.update(other.templates)


class StoreSource:
    """Loops of one flow definition in the crowdloop store, read in pages of PAGE_LOOPS by id. Each answer
    carries its time spent and whether it is flagged: faster than the flow definition's crowdloop:min-seconds
    as it is when the source is opened, or given by a worker paused for the flow then (crowdloop.gold);
    min_seconds and paused_workers given: a chunk of an export, as its source read them."""

    def __init__(
        self,
        store: Store,
        flow: str,
        *,
        statuses: tuple[str, ...],
        known: FlowIdentity | None = None,
        min_seconds: float | None = None,
        paused_workers: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.flow = flow
        self.statuses = statuses
        self.ref = known or _find_flow(store, flow)
        self.flow_id = self.ref.id
        self.flow_name = self.ref.name
        self.flow_arn = self.ref.arn
        self.template_sha256 = self.ref.template_sha256
        self.reads = StoreReads()  # by this object, or by the chunks added to it (crowdloop.export.parallel)
        self.min_seconds = _min_seconds(store, self.flow_arn) if min_seconds is None else min_seconds
        # workers paused for the flow (crowdloop.gold): all their answers are flagged, reason "paused"
        self.paused_workers = _paused_workers(store, self.flow_id) if paused_workers is None else paused_workers

    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]:
        """The loops in creation order."""
        yield from self.loops_between(LoopRange(), problems)

    def loops_between(self, span: LoopRange, problems: ProblemLog) -> Iterator[RawLoop]:
        """The loops of one range of the creation order (a chunk of a parallel export), in that order."""
        flow, reads = self.flow_name, self.reads
        for page, answers in self._pages(span):
            reads.loops += len(page)
            reads.templates.update(row[3] for row in page)
            for loop_id, name, input_content, _, _ in page:
                yield RawLoop(name, flow, parse_stored(input_content), tuple(answers[loop_id]), flow + "/" + name)

    def ranges(self, loops_per_range: int) -> list[LoopRange]:
        """The flow definition's loops cut into ranges of `loops_per_range` in creation order, whatever their
        status (crowdloop.loops.loop_range_cuts); a range holds at most that many loops of the statuses read.
        The last range is open-ended, so that it also takes loops started after this call."""
        with self.store.read() as conn:
            cuts = loop_range_cuts(conn, self.flow_id, loops_per_range)
        starts: list[tuple[int, int] | None] = [None, *cuts]
        stops: list[tuple[int, int] | None] = [*cuts, None]
        return [LoopRange(start, stop, loops_per_range) for start, stop in zip(starts, stops, strict=True)]

    def _pages(self, span: LoopRange) -> Iterator[tuple[Sequence[Any], dict[int, list[RawAnswer]]]]:
        """Pages of the loops of `span` in creation order (keyset on the (flow, created_at, id) index:
        crowdloop.loops.loop_page), with the submitted answers of each loop of a page (looked up by loop id:
        crowdloop.answers.submitted_answers). A page asks for no more loops than the span is expected to
        hold, and the span ends at its `stop` key."""
        new_answer = functools.partial(tuple.__new__, RawAnswer)  # RawAnswer(...) without its Python-level __new__
        threshold = self.min_seconds or -1.0  # no threshold: nothing is below -1
        paused = self.paused_workers
        position = span.start or (-(2**62), 0)
        expected = span.expected
        while True:
            size = PAGE_LOOPS if span.stop is None or expected <= 0 else min(PAGE_LOOPS, expected)
            with self.store.read() as conn:
                page = loop_page(conn, self.flow_id, self.statuses, position, size)
                beyond = False  # the page reached past the span: it ends here
                if span.stop is not None:
                    kept = [row for row in page if (row[4], row[0]) <= span.stop]
                    page, beyond = kept, len(kept) < len(page)
                if not page:
                    return
                answers: dict[int, list[RawAnswer]] = {row[0]: [] for row in page}
                ids = list(answers)
                for loop_id, _, worker_id, answer, order, seconds in submitted_answers(conn, min(ids), max(ids)):
                    if (into := answers.get(loop_id)) is not None:
                        try:
                            parsed = _loads(answer)
                        except ValueError:  # not JSON for orjson (or NULL): the careful way
                            parsed = parse_stored(answer)
                        shown = None if order is None else decode_order(order)
                        flagged = (seconds is not None and seconds < threshold) or worker_id in paused
                        into.append(new_answer((worker_id, parsed, shown, seconds, flagged)))
            yield page, answers
            last_key = (page[-1][4], page[-1][0])
            if beyond or last_key == span.stop:
                return
            position = last_key
            expected -= len(page)

    def count(self) -> int:
        with self.store.read() as conn:
            return count_loops(conn, self.flow_id, self.statuses)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "store",
            "location": store_location(self.store.url),
            "flow_definition": self.flow_name,
            "flow_definition_arn": self.flow_arn,
            "template_sha256": self.template_sha256,
            "loop_template_sha256": sorted(self.reads.templates),
            "statuses": list(self.statuses),
            "loops_read": self.reads.loops,
            "min_seconds": self.min_seconds,
            "paused_workers": len(self.paused_workers),
        }


def _paused_workers(store: Store, flow_id: int) -> frozenset[str]:
    with store.read() as conn:
        return gold.paused_worker_ids(conn, flow_id)


def _min_seconds(store: Store, flow_arn: str) -> float:
    """The flow definition's crowdloop:min-seconds (0: none; tags no longer valid count as unset, as on the
    task path: quality.current_config)."""
    with store.read() as conn:
        try:
            return quality.config_for(conn, flow_arn).min_seconds
        except InvalidInput:
            return 0.0


class _OutputFiles:
    """What the output.json sources share: each document read becomes a loop, counted with its flow
    definition, and the description of what was read."""

    kind: str

    def __init__(self, location: str) -> None:
        self.location = location
        self.flows: set[str] = set()
        self.loops_read = 0

    def _loop(self, document: Any, origin: str, problems: ProblemLog) -> RawLoop | None:
        loop = loop_from_document(document, origin, problems)
        if loop is not None:
            self.loops_read += 1
            self.flows.add(loop.flow)
        return loop

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "location": self.location,
            "flow_definitions": sorted(self.flows),
            "template_sha256": None,
            "loops_read": self.loops_read,
        }


class FolderSource(_OutputFiles):
    """Every output.json below a folder (recursively), in sorted path order."""

    kind = "folder"

    def __init__(self, root: Path) -> None:
        # The card names the folder, not where it is on this machine: cards and reports are shared.
        super().__init__(root.resolve().name or str(root))
        self.root = root

    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]:
        for path in _walk_sorted(self.root):
            origin = f"{self.location}/{path.relative_to(self.root).as_posix()}"
            try:
                document = loads_json(path.read_bytes())
            except (OSError, ValueError) as exc:
                problems.add(Problem(origin, None, "unreadable output.json", str(exc)[:200].replace(str(path), origin)))
                continue
            loop = self._loop(document, origin, problems)
            if loop is not None:
                yield loop


def _walk_sorted(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        if OUTPUT_NAME in files:
            yield Path(folder) / OUTPUT_NAME


class S3Source(_OutputFiles):
    """Every key ending in /output.json under s3://bucket/prefix, in S3's (lexicographic) listing order."""

    kind = "s3"

    def __init__(self, uri: str, *, client: Any = None) -> None:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise InvalidInput(f"'{uri}' names no bucket.", "source")
        super().__init__(uri)
        self.uri = uri
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def loops(self, problems: ProblemLog) -> Iterator[RawLoop]:
        client = self.client
        if client is None:
            import boto3

            client = boto3.client("s3")
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if key != OUTPUT_NAME and not key.endswith("/" + OUTPUT_NAME):
                    continue
                origin = f"s3://{self.bucket}/{key}"
                try:
                    document = loads_json(client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
                except ValueError as exc:
                    problems.add(Problem(origin, None, "unreadable output.json", str(exc)[:200]))
                    continue
                loop = self._loop(document, origin, problems)
                if loop is not None:
                    yield loop


def parse_stored(text: str | None) -> Any:
    """A stored JSON text (a loop's input, an answer) as the store source reads it: what orjson refuses but
    JSON allows too, and text that is not JSON kept as _Unparsable (the mapping reports it)."""
    if text is None:
        return None
    try:
        return _loads(text)
    except ValueError:
        try:
            return loads_json(text)  # what orjson refuses but JSON allows
        except ValueError:
            return _Unparsable(text)


class _Unparsable:
    """Stored text that is not JSON (the mapping reports it)."""

    def __init__(self, text: str) -> None:
        self.text = text


def store_location(url: str) -> str:
    """How a card names a store: a PostgreSQL URL without its password, a SQLite database by its file name
    only (never a path of this machine)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "store"
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite: {Path(parsed.database).name}" if parsed.database else "sqlite (in memory)"
    return parsed.render_as_string(hide_password=True)


def _safe_url(url: str) -> str:
    """The store URL without its password (for messages to the person running the export)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
