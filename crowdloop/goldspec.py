"""Gold items' known answers (docs/quality.md "Gold items"): reading the JSONL lines `crowdloop gold add`
takes, and scoring a worker's answer against a known one. Pure functions, no store.

A line is `{"id": "...", "input": {...}, "answer": {...}}`: `input` is exactly what StartHumanLoop's
InputContent would hold, `id` is optional, and `answer` is one of

    {"best": i}               the index (0-based, in the input's responses order) of the best response
    {"ranking": [i, j, k]}    an acceptable ranking: response indexes, best first (all or some of them)
    {"label": "x"}            the accepted label
    {"labels": ["x", "y"]}    the accepted labels

A worker's answer is read exactly as the export reads it (crowdloop.agreement_item.read_item: the detected
convention, the answer readers, a shuffled answer put back in input order) and scored in [0, 1]:

* best: 1 when the known best response is the worker's top response alone (ranked or rated above every
  other), else 0;
* ranking: the share of the known ranking's response pairs the worker orders the same way (a tie counts 0);
* label(s): 1 when the worker's label is an accepted one, else 0.

`score` is None when the answer cannot be read (a format the export does not recognise, a label answer to a
best/ranking item ...): the caller counts it as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import orjson

from crowdloop import agreement_item, shuffle
from crowdloop.errors import InvalidInput
from crowdloop.export.model import Kind
from crowdloop.jsoncheck import document_problem

MAX_ITEMS = 10_000  # per call of gold add
MAX_INPUT_CHARS = 3_145_728  # StartHumanLoop's InputContent limit (botocore's model)
MAX_LINE_CHARS = MAX_INPUT_CHARS + 65_536  # the input plus its id and answer
MAX_NAME_CHARS = 128
MAX_LABEL_CHARS = 256
MAX_LABELS = 100
MAX_PROBLEMS_SHOWN = 20
ANSWER_KINDS = ("best", "ranking", "label", "labels")


@dataclass(frozen=True)
class GoldLine:
    """One checked line: its number in the file, its id (None: generated), the input and the known answer
    as compact JSON."""

    number: int
    name: str | None
    input_content: str
    answer: str


def parse_lines(lines: Iterable[str]) -> list[GoldLine]:
    """Every non-blank line checked; InvalidInput listing each bad line (number and what is wrong) when any
    is, so that nothing is stored from a file with a mistake."""
    found: list[GoldLine] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        if len(found) + len(problems) >= MAX_ITEMS:
            problems.append(f"more than {MAX_ITEMS:,} gold items: add them in several calls")
            break
        try:
            line = parse_line(number, text)
        except InvalidInput as exc:
            problems.append(exc.message)
            continue
        if line.name is not None:
            if line.name in seen:
                problems.append(f"line {number}: id {line.name!r} is also on line {seen[line.name]}")
                continue
            seen[line.name] = number
        found.append(line)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"; and {more} more" if more else ""
        raise InvalidInput("Nothing was added: " + "; ".join(shown) + tail + ".", "gold")
    if not found:
        raise InvalidInput("Nothing was added: the file has no gold item.", "gold")
    return found


def parse_line(number: int, text: str) -> GoldLine:
    """One JSONL line checked (InvalidInput "line N: what is wrong")."""

    def bad(what: str) -> InvalidInput:
        return InvalidInput(f"line {number}: {what}", "gold")

    if len(text) > MAX_LINE_CHARS:
        raise bad(f"longer than {MAX_LINE_CHARS:,} characters")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise bad("not a JSON object") from None
    if not isinstance(value, dict):
        raise bad("not a JSON object")
    unknown = sorted(set(value) - {"id", "input", "answer"})
    if unknown:
        raise bad(f"unknown member {unknown[0]!r} (a line has id, input and answer)")
    name = value.get("id")
    if name is not None and (
        not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS or not name.isprintable()
    ):
        raise bad(f'"id" must be a text of 1 to {MAX_NAME_CHARS} printable characters')
    document = value.get("input")
    if not isinstance(document, dict):
        raise bad('"input" must be a JSON object (what StartHumanLoop\'s InputContent would hold)')
    problem = document_problem(document)
    if problem is not None:
        raise bad(f'"input" {problem}')
    input_content = orjson.dumps(document).decode()
    if len(input_content) > MAX_INPUT_CHARS:
        raise bad(f'"input" is longer than InputContent\'s {MAX_INPUT_CHARS:,} characters')
    answer = check_answer(value.get("answer"), document)
    if isinstance(answer, str):
        raise bad(answer)
    return GoldLine(number, name, input_content, orjson.dumps(answer).decode())


def check_answer(answer: Any, document: Any) -> dict[str, Any] | str:
    """The known answer if it is one of the four forms and fits the input, else what is wrong."""
    if not isinstance(answer, dict) or len(answer) != 1 or next(iter(answer)) not in ANSWER_KINDS:
        return '"answer" must be one of {"best": i}, {"ranking": [i, j, ...]}, {"label": "x"}, {"labels": [...]}'
    kind, given = next(iter(answer.items()))
    if kind in ("best", "ranking"):
        count = shuffle.response_count(document)
        if count == 0:
            return f'answer "{kind}" needs a list of two or more responses in the input (taskObject.responses)'
        indexes = [given] if kind == "best" else given
        if not isinstance(indexes, list) or (kind == "ranking" and len(indexes) < 2):
            return 'answer "ranking" must be a list of two or more response indexes, best first'
        for index in indexes:
            if type(index) is not int or not 0 <= index < count:
                return f'answer "{kind}": {index!r} is not a response index (0 to {count - 1})'
        if len(set(indexes)) != len(indexes):
            return 'answer "ranking" names a response twice'
        return {kind: given}
    labels = [given] if kind == "label" else given
    if not isinstance(labels, list) or not 1 <= len(labels) <= MAX_LABELS:
        return f'answer "labels" must be a list of 1 to {MAX_LABELS} labels'
    for label in labels:
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS:
            return f'answer "{kind}": {label!r} is not a label (a text of 1 to {MAX_LABEL_CHARS} characters)'
    return {kind: given}


def score(
    input_content: Any, answer_spec: Any, worker_answer: Any, response_order: Sequence[int] | None
) -> float | None:
    """The worker's answer (answerContent parsed, in the order `response_order` showed the responses) scored
    against the known answer, in [0, 1]; None when it cannot be read (see the module docstring)."""
    order = list(response_order) if response_order is not None else None
    item = agreement_item.read_item(input_content, [("worker", worker_answer, order)])
    if item is None or not item.judgments or not isinstance(answer_spec, dict):
        return None
    judgment = item.judgments[0]
    if "label" in answer_spec or "labels" in answer_spec:
        if item.kind is not Kind.LABEL or len(judgment.labels) != 1 or judgment.labels[0] is None:
            return None
        given = answer_spec.get("labels", [answer_spec.get("label")])
        accepted = {str(label).strip() for label in given}
        return 1.0 if judgment.labels[0].strip() in accepted else 0.0
    if item.kind is Kind.LABEL:
        return None
    values = judgment.values
    higher_is_better = item.kind is Kind.RATING

    def better(a: int, b: int) -> bool:
        return values[a] > values[b] if higher_is_better else values[a] < values[b]

    if "best" in answer_spec:
        best = answer_spec["best"]
        if not isinstance(best, int) or not 0 <= best < len(values):
            return None
        return 1.0 if all(better(best, other) for other in range(len(values)) if other != best) else 0.0
    ranking = answer_spec.get("ranking")
    if not isinstance(ranking, list) or any(not isinstance(i, int) or not 0 <= i < len(values) for i in ranking):
        return None
    pairs = list(combinations(ranking, 2))  # (a, b): a is ranked above b
    if not pairs:
        return None
    return sum(better(a, b) for a, b in pairs) / len(pairs)
