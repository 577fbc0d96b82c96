"""From a loop to an item: where the prompt and responses are in inputContent, and how each worker's
answerContent encodes a ranking, a pairwise choice, a rating or a label.

Conventions recognised without a mapping file (the first loop of each flow definition that matches
decides; a loop matching none is reported, never guessed):

    seed                inputContent.taskObject.{prompt,responses}; answer response_{i}_ranking, 1-based,
                        rank 1 = best, values may be strings ("1"); equal ranks are ties
    rating-fields       answer response_{i}_rating or response_{i}_score: numbers (crowd-slider), higher = better
    crowd-text-ranking  answer {"<name>": {"ordinalRankingDimensions": [{"name", "responseRankings": [...]}]}}
                        (or the list at the top level); rank per response in input order, 1 = best
    pairwise-choice     a crowd-classifier answer {"<name>": {"label": "A is better" | "B is better" | "Tie"}}
                        over two responses (spec §7.4)
    label               a single crowd-classifier answer {"<name>": {"label": ...}}: a label for the item

Prompt and responses are looked up at taskObject.prompt / prompt / taskObject.text / text and
taskObject.responses / responses; a response may be a string or an object with "text" (and "model"), or a
chat message {"role", "content"}. The prompt may be a string or a list of chat messages (kept as turns:
crowdloop.export.model.Messages).
Anything else is described by a mapping file (TOML or JSON; see docs/export.md), read by load_mapping.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from crowdloop import shuffle
from crowdloop.errors import InvalidInput
from crowdloop.export.model import Item, Judgment, Kind, Messages, Problem, ProblemLog, Prompt, RawLoop

PROMPT_PATHS = ("taskObject.prompt", "prompt", "taskObject.text", "text", "taskObject.question", "question")
RESPONSE_PATHS = shuffle.RESPONSE_PATHS  # the lists crowdloop:shuffle-responses shuffles
_PLAIN = {str, int, float}
_STR_ONLY = {str}
_SEED_KEY = re.compile(r"^response_(\d+)_ranking$")
_RATING_KEY = re.compile(r"^response_(\d+)_(rating|score)$")
# Item(...) and Judgment(...) without their Python-level __new__: a million of them are made per export.
_new_item = functools.partial(tuple.__new__, Item)
_new_judgment = functools.partial(tuple.__new__, Judgment)
PAIRWISE_CHOICES: dict[str, int | None] = {
    "a": 0,
    "b": 1,
    "a is better": 0,
    "b is better": 1,
    "response a": 0,
    "response b": 1,
    "tie": None,
    "equal": None,
    "both are equal": None,
}


@dataclass(frozen=True)
class Mapping:
    """How to read one flow definition's loops. layout is one of:
    per-response  answer[field.format(i=k)] for each response number k (index_base, index_base + 1, ...)
    list          a list at answer path `field`, one value per response (crowd-text-ranking: per dimension)
    choice        a label at `field` naming the better of two responses (choices: label -> index or None)
    item          a label at `field` for the whole item
    """

    name: str
    kind: Kind
    layout: str
    field: str
    prompt: str = "taskObject.prompt"
    responses: str = "taskObject.responses"
    response_text: str = "text"
    response_model: str = "model"
    models: str | None = None
    index_base: int = 1
    lowest_is_best: bool = True
    minimum: float | None = None
    maximum: float | None = None
    dimension: str | None = None
    choices: dict[str, int | None] = dataclasses.field(default_factory=dict)
    labels: tuple[str, ...] = ()
    desirable: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "convention": self.name,
            "kind": self.kind.value,
            "layout": self.layout,
            "field": self.field,
            "prompt": self.prompt,
            "responses": self.responses,
        }
        optional: dict[str, Any] = {
            "models": self.models,
            "index_base": self.index_base if self.layout != "item" else None,
            "best": ("lowest" if self.lowest_is_best else "highest") if self.kind is Kind.RANKING else None,
            "min": self.minimum,
            "max": self.maximum,
            "dimension": self.dimension,
            "choices": self.choices or None,
            "labels": list(self.labels) or None,
            "desirable": list(self.desirable) or None,
        }
        described.update({k: v for k, v in optional.items() if v is not None})
        return described


# --- mapping files ------------------------------------------------------------------------------------


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping file (.toml, or .json): see docs/export.md for the keys."""
    path = Path(path)
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read mapping file {path}: {exc}", "mapping") from exc
    return mapping_from_dict(data, name=f"file:{path.name}")


def mapping_from_dict(data: dict[str, Any], name: str = "file") -> Mapping:
    def fail(message: str) -> InvalidInput:
        return InvalidInput(f"Mapping {name}: {message}", "mapping")

    known = {"kind", "input", "answer"}
    if unknown := set(data) - known:
        raise fail(f"unknown keys {sorted(unknown)} (expected {sorted(known)})")
    kind_name = data.get("kind", "ranking")
    if kind_name not in ("ranking", "rating", "label", "choice"):
        raise fail(f"kind must be ranking, rating, label or choice, not {kind_name!r}")
    source = dict(data.get("input", {}))
    answer = dict(data.get("answer", {}))
    input_keys = {"prompt", "responses", "response_text", "response_model", "models"}
    answer_keys = {
        "field",
        "list",
        "index_base",
        "best",
        "min",
        "max",
        "dimension",
        "choices",
        "labels",
        "desirable",
        "per_response",
    }
    if unknown := set(source) - input_keys:
        raise fail(f"unknown [input] keys {sorted(unknown)}")
    if unknown := set(answer) - answer_keys:
        raise fail(f"unknown [answer] keys {sorted(unknown)}")
    if ("field" in answer) == ("list" in answer):
        raise fail("[answer] needs exactly one of field (a key, {i} = response number) or list")
    base = int(answer.get("index_base", 1))
    field_path = str(answer.get("field") or answer.get("list"))
    if kind_name == "choice":
        choices: dict[str, int | None] = {}
        for label, target in dict(answer.get("choices", {})).items():
            if target == "tie":
                choices[str(label)] = None
            elif isinstance(target, int) and not isinstance(target, bool) and target - base in (0, 1):
                choices[str(label)] = target - base
            else:
                raise fail(f'choice {label!r} must name response {base} or {base + 1}, or "tie"')
        if not choices:
            raise fail('kind = "choice" needs [answer.choices]: label = response number or "tie"')
        kind, layout = Kind.RANKING, "choice"
    else:
        kind = Kind(kind_name)
        if "list" in answer:
            layout = "list"
        elif "{i}" in field_path:
            layout = "per-response"
        elif kind is Kind.LABEL:
            layout = "item"
        else:
            raise fail("field must contain {i} (one answer key per response), or use list = ...")
        choices = {}
    best = answer.get("best", "lowest")
    if best not in ("lowest", "highest"):
        raise fail('best must be "lowest" (rank 1 = best) or "highest"')
    return Mapping(
        name=name,
        kind=kind,
        layout=layout,
        field=field_path,
        prompt=str(source.get("prompt", "taskObject.prompt")),
        responses=str(source.get("responses", "taskObject.responses")),
        response_text=str(source.get("response_text", "text")),
        response_model=str(source.get("response_model", "model")),
        models=source.get("models"),
        index_base=base,
        lowest_is_best=best == "lowest",
        minimum=_optional_float(answer.get("min")),
        maximum=_optional_float(answer.get("max")),
        dimension=answer.get("dimension"),
        choices=choices,
        labels=tuple(str(x) for x in answer.get("labels", ())),
        desirable=tuple(str(x) for x in answer.get("desirable", ())),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


# --- detection ----------------------------------------------------------------------------------------


def detect(loop: RawLoop, dimension: str | None = None) -> Mapping | None:
    """The convention this loop follows, or None when it follows none we know."""
    prompt = next((p for p in PROMPT_PATHS if _present(loop.input, p)), None)
    responses = next((p for p in RESPONSE_PATHS if isinstance(get_path(loop.input, p), list)), None)
    answer = next((a.answer for a in loop.answers if isinstance(a.answer, dict) and a.answer), None)
    if prompt is None or answer is None:
        return None
    found: Mapping | None = None
    keys = list(answer)
    if any(_SEED_KEY.match(k) for k in keys):
        found = Mapping("seed", Kind.RANKING, "per-response", "response_{i}_ranking")
    elif rating := next((m for m in map(_RATING_KEY.match, keys) if m), None):
        found = Mapping("rating-fields", Kind.RATING, "per-response", "response_{i}_" + rating.group(2))
    elif ranking := _find_ranking(answer):
        found = Mapping("crowd-text-ranking", Kind.RANKING, "list", ranking, dimension=dimension)
    else:
        labelled = [k for k, v in answer.items() if isinstance(v, dict) and isinstance(v.get("label"), str)]
        if len(labelled) == 1:
            label = answer[labelled[0]]["label"].strip().lower()
            if label in PAIRWISE_CHOICES:
                found = Mapping("pairwise-choice", Kind.RANKING, "choice", labelled[0], choices=PAIRWISE_CHOICES)
            else:
                found = Mapping("label", Kind.LABEL, "item", labelled[0])
    if found is None:
        return None
    return replace(found, prompt=prompt, responses=responses or "taskObject.responses")


def response_keys(m: Mapping, n: int) -> tuple[str, ...]:
    """A per-response mapping's answer keys for n responses, in input order: key k is read for response k."""
    return tuple(m.field.replace("{i}", str(i)) for i in range(m.index_base, m.index_base + n))


def response_key_pattern(m: Mapping) -> re.Pattern[str] | None:
    """The answer keys of a per-response mapping for any response number (group 1: the number); None for a
    field with a path (a.{i}.b), whose keys are not top-level answer keys."""
    if m.layout != "per-response" or "." in m.field:
        return None
    return re.compile("^" + re.escape(m.field).replace(r"\{i\}", r"(\d+)") + "$")


def response_of_key(m: Mapping, key: str) -> int | None:
    """The input position (0-based) a per-response mapping reads answer key `key` for, whether or not the
    input has that many responses; None when the key is not one of the mapping's."""
    pattern = response_key_pattern(m)
    found = pattern.match(key) if pattern is not None else None
    return int(found.group(1)) - m.index_base if found else None


def convention_of_key(key: str) -> str | None:
    """The convention detect() recognises an answer key as a per-response key of (seed, rating-fields)."""
    if _SEED_KEY.match(key):
        return "seed"
    return "rating-fields" if _RATING_KEY.match(key) else None


def _find_ranking(answer: dict[str, Any]) -> str | None:
    if isinstance(answer.get("ordinalRankingDimensions"), list):
        return "ordinalRankingDimensions"
    for key, value in answer.items():
        if isinstance(value, dict) and isinstance(value.get("ordinalRankingDimensions"), list):
            return f"{key}.ordinalRankingDimensions"
    return None


def _present(document: Any, path: str) -> bool:
    return get_path(document, path) is not None


def get_path(document: Any, path: str) -> Any:
    """document["a"]["b"][0] for "a.b.0"; None where anything is missing."""
    value = document
    for part in _parts(path):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@functools.lru_cache(maxsize=256)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


# --- reading loops ------------------------------------------------------------------------------------


class BadAnswer(Exception):
    """An answer that cannot be read with the mapping (message: reason, detail)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Detected:
    """The mappings found so far: detected per flow definition (from its first loop that matches a
    convention), and the kind of answer the export reads (the first mapping's, or the given mapping's)."""

    by_flow: dict[str, Mapping] = dataclasses.field(default_factory=dict)
    kind: Kind | None = None

    @classmethod
    def before(cls, given: Mapping | None) -> Detected:
        """Nothing detected yet: the kind is the given mapping's, if any."""
        return cls(kind=given.kind if given else None)

    def copy(self) -> Detected:
        return Detected(dict(self.by_flow), self.kind)

    def merge(self, later: Detected) -> None:
        """Add what a later part of the same stream detected (a chunk of a parallel export): the first
        mapping of each flow definition stays."""
        for flow, mapping in later.by_flow.items():
            self.by_flow.setdefault(flow, mapping)
        self.kind = self.kind or later.kind


def describe_mappings(given: Mapping | None, detected: Detected) -> list[dict[str, Any]]:
    """The mappings for the dataset card: the given one, or each flow definition's detected one."""
    if given is not None:
        return [given.describe()]
    return [{"flow_definition": flow, **m.describe()} for flow, m in sorted(detected.by_flow.items())]


class Mapper:
    """Turns RawLoops into Items with one mapping (given, or detected per flow definition, kept in
    `detected`). Loops or answers that do not fit are added to `problems` with their reason."""

    def __init__(
        self,
        problems: ProblemLog,
        mapping: Mapping | None = None,
        dimension: str | None = None,
        detected: Detected | None = None,
    ) -> None:
        self.problems = problems
        self.given = mapping
        self.dimension = dimension
        self.detected = detected if detected is not None else Detected.before(mapping)
        self._readers: dict[int, Callable[[Any, str, int], Judgment]] = {}

    def mappings(self) -> list[dict[str, Any]]:
        return describe_mappings(self.given, self.detected)

    def map(self, loop: RawLoop) -> Item | None:
        detected = self.detected
        mapping = self.given or detected.by_flow.get(loop.flow)
        if mapping is None:
            mapping = detect(loop, self.dimension)
            if mapping is None:
                self._loop_problem(loop, "answer format not recognised", _shape(loop))
                return None
            if detected.kind is not None and mapping.kind is not detected.kind:
                self._loop_problem(
                    loop,
                    "different kind of answer",
                    f"{mapping.name} ({mapping.kind}) while this export reads {detected.kind} answers",
                )
                return None
            detected.kind = mapping.kind
            detected.by_flow[loop.flow] = mapping
        try:
            prompt, responses, models = self._input(mapping, loop.input)
        except BadAnswer as bad:
            self._loop_problem(loop, bad.reason, bad.detail)
            return None
        read = self._reader(mapping)
        judgments = []
        seen: set[str] = set()
        for answer in loop.answers:
            if answer.worker_id in seen:
                self.problems.add(
                    Problem(loop.name, answer.worker_id, "second answer by the same worker", "only the first is used")
                )
                continue
            seen.add(answer.worker_id)
            try:
                judgment = read(answer.answer, answer.worker_id, len(responses))
                if answer.order is not None:
                    judgment = _unshuffled(judgment, answer.order, len(responses))
                if answer.flagged:
                    judgment = judgment._replace(flagged=True)
                judgments.append(judgment)
            except BadAnswer as bad:
                self.problems.add(Problem(loop.name, answer.worker_id, bad.reason, bad.detail))
        if not judgments:
            if loop.answers:
                return None  # every answer was reported
            self._loop_problem(loop, "no answers", "the loop has no submitted answer")
            return None
        if mapping.layout == "item":  # a label for the whole item: no response it belongs to
            responses, models = (), ()
        return _new_item((loop.name, loop.flow, mapping.kind, prompt, responses, models, tuple(judgments)))

    def _loop_problem(self, loop: RawLoop, reason: str, detail: str) -> None:
        self.problems.add(Problem(loop.name, None, reason, detail))
        self.problems.answers += len(loop.answers)

    def _input(self, mapping: Mapping, document: Any) -> tuple[Prompt, tuple[str, ...], tuple[str | None, ...]]:
        if type(document) is not dict:
            raise BadAnswer("inputContent is not a JSON object", type(document).__name__)
        prompt = get_path(document, mapping.prompt)
        if type(prompt) is not str:
            prompt = _chat(prompt, f"inputContent.{mapping.prompt}")
        raw = get_path(document, mapping.responses)
        if type(raw) is not list:
            if mapping.kind is Kind.LABEL:
                return prompt, (), ()
            raise BadAnswer("responses missing", f"inputContent.{mapping.responses} is not a list")
        models: tuple[str | None, ...]
        if _STR_ONLY.issuperset(map(type, raw)):
            texts, models = tuple(raw), (None,) * len(raw)
        else:
            texts, models = self._responses(mapping, raw)
        if mapping.models:
            listed = get_path(document, mapping.models)
            if not isinstance(listed, list) or len(listed) != len(texts):
                raise BadAnswer(
                    "models missing", f"inputContent.{mapping.models} is not a list of {len(texts)} model names"
                )
            models = tuple(None if m is None else str(m) for m in listed)
        if mapping.kind is Kind.RATING and not texts:  # one response may be rated alone (e.g. KTO, a scalar reward)
            raise BadAnswer("no responses", "0 responses")
        if mapping.kind is Kind.RANKING and len(texts) < 2:
            raise BadAnswer("fewer than two responses", f"{len(texts)} response(s)")
        return prompt, texts, models

    @staticmethod
    def _responses(mapping: Mapping, raw: list[Any]) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
        texts: list[str] = []
        models: list[str | None] = []
        for position, response in enumerate(raw):
            if isinstance(response, str):
                texts.append(response)
                models.append(None)
            elif isinstance(response, dict) and isinstance(text := _response_text(response, mapping), str):
                texts.append(text)
                model = response.get(mapping.response_model)
                models.append(str(model) if model is not None else None)
            else:
                raise BadAnswer(
                    "response is not text",
                    f"inputContent.{mapping.responses}.{position} is neither a string nor an object "
                    f"with {mapping.response_text!r} (or a chat message with role and content)",
                )
        return tuple(texts), tuple(models)

    def _reader(self, mapping: Mapping) -> Callable[[Any, str, int], Judgment]:
        reader = self._readers.get(id(mapping))
        if reader is None:
            reader = self._readers[id(mapping)] = _make_reader(mapping)
        return reader


def _make_reader(m: Mapping) -> Callable[[Any, str, int], Judgment]:
    """A function (answerContent, annotator, number of responses) -> Judgment, or BadAnswer."""
    if m.layout == "per-response":
        keys_for: dict[int, tuple[str, ...]] = {}
        valid_for: dict[int, set[float]] = {}
        simple = "." not in m.field
        pattern = response_key_pattern(m)
        fast = m.kind is Kind.RANKING and m.lowest_is_best  # valid ranks need no conversion

        def per_response(answer: Any, annotator: str, n: int) -> Judgment:
            if type(answer) is not dict:
                raise BadAnswer("answer is not a JSON object", type(answer).__name__)
            keys = keys_for.get(n)
            if keys is None:
                keys = keys_for[n] = response_keys(m, n)
                valid_for[n] = {float(i) for i in range(1, n + 1)}
            raw = list(map(answer.get, keys)) if simple else [get_path(answer, k) for k in keys]
            if pattern is not None and len(answer) > n:
                extra = sorted(k for k in answer if pattern.match(k) and k not in keys)
                if extra:
                    raise BadAnswer(
                        "answer for a response the input does not have",
                        f"{', '.join(extra)} (the input has {n} responses)",
                    )
            if None in raw:
                raise BadAnswer(
                    "incomplete answer", "missing " + ", ".join(k for k, v in zip(keys, raw, strict=True) if v is None)
                )
            if m.kind is Kind.LABEL:
                return _labels(m, annotator, [_label(v, k) for k, v in zip(keys, raw, strict=True)])
            if fast and _PLAIN.issuperset(map(type, raw)):
                try:
                    values = tuple(map(float, raw))  # type: ignore[arg-type]  # str | int | float, checked above
                except ValueError:
                    pass
                else:
                    if valid_for[n].issuperset(values):
                        return _new_judgment((annotator, values, (), (), False))
            return _judgment(m, annotator, [_number(v, k) for k, v in zip(keys, raw, strict=True)], n)

        return per_response
    if m.layout == "list":

        def listed(answer: Any, annotator: str, n: int) -> Judgment:
            value = get_path(answer, m.field) if isinstance(answer, dict) else None
            if value is None:
                raise BadAnswer("incomplete answer", f"missing {m.field}")
            if m.field.endswith("ordinalRankingDimensions"):
                value = _dimension(value, m.dimension)
            if not isinstance(value, list) or len(value) != n:
                raise BadAnswer(
                    "wrong number of values",
                    f"{m.field} has {len(value) if isinstance(value, list) else 'no'} values for {n} responses",
                )
            if m.kind is Kind.LABEL:
                return _labels(m, annotator, [_label(v, f"{m.field}.{i}") for i, v in enumerate(value)])
            return _judgment(m, annotator, [_number(v, f"{m.field}.{i}") for i, v in enumerate(value)], n)

        return listed
    if m.layout == "choice":

        def choice(answer: Any, annotator: str, n: int) -> Judgment:
            label = _label(get_path(answer, m.field) if isinstance(answer, dict) else None, m.field)
            key = label if label in m.choices else label.strip().lower()
            if key not in m.choices:
                raise BadAnswer("unknown choice", f"{m.field} = {label!r} (known: {', '.join(m.choices)})")
            if n != 2:
                raise BadAnswer("choice needs two responses", f"the input has {n} responses")
            winner = m.choices[key]
            return Judgment(annotator, (1.0, 1.0) if winner is None else ((1.0, 2.0) if winner == 0 else (2.0, 1.0)))

        return choice

    def labelled(answer: Any, annotator: str, n: int) -> Judgment:
        return _labels(m, annotator, [_label(get_path(answer, m.field) if isinstance(answer, dict) else None, m.field)])

    return labelled


def _unshuffled(judgment: Judgment, order: Any, n: int) -> Judgment:
    """A judgment read in displayed positions (crowdloop:shuffle-responses) back in input order, with the
    order kept for position bias (crowdloop.export.agreement). An item-level label has nothing to reorder."""
    if not shuffle.is_order(order, n):
        raise BadAnswer("response order does not fit", f"crowdloopResponseOrder {order!r} for {n} responses")
    values = shuffle.unshuffle(judgment.values, order) if len(judgment.values) == n else judgment.values
    labels = shuffle.unshuffle(judgment.labels, order) if len(judgment.labels) == n > 1 else judgment.labels
    return Judgment(judgment.annotator, values, labels, tuple(order))


def _chat(value: Any, where: str) -> Messages:
    """A prompt given as chat messages, [{"role": ..., "content": ...}, ...], as ((role, content), ...)."""
    if type(value) is list and value:
        messages: list[tuple[str, str]] = []
        for message in value:
            role, content = (message.get("role"), message.get("content")) if type(message) is dict else (None, None)
            if type(role) is not str or not role or type(content) is not str:
                break
            messages.append((role, content))
        else:
            return tuple(messages)
    if value is None:
        raise BadAnswer("prompt missing", f"{where} is missing")
    raise BadAnswer(
        "prompt missing",
        f"{where} is neither a string nor a list of chat messages (objects with a string role and content)",
    )


def _response_text(response: dict[str, Any], mapping: Mapping) -> Any:
    """The text of a response object: its `response_text` key, else the content of a chat message."""
    text = response.get(mapping.response_text)
    if text is None and mapping.response_text == "text" and isinstance(response.get("role"), str):
        return response.get("content")
    return text


def _labels(m: Mapping, annotator: str, labels: list[str]) -> Judgment:
    for label in labels:
        if m.labels and label not in m.labels:
            raise BadAnswer("unknown label", f"{label!r} (known: {', '.join(m.labels)})")
    return Judgment(annotator, labels=tuple(labels))


def _judgment(m: Mapping, annotator: str, values: list[float], n: int) -> Judgment:
    if m.kind is Kind.RANKING:
        for value in values:
            if not value.is_integer() or not 1 <= value <= n:
                raise BadAnswer("rank out of range", f"rank {_show(value)} for {n} responses (ranks are 1..{n})")
        if not m.lowest_is_best:
            values = [n + 1 - v for v in values]
    else:
        for value in values:
            if (m.minimum is not None and value < m.minimum) or (m.maximum is not None and value > m.maximum):
                raise BadAnswer("rating out of range", f"{_show(value)} outside [{m.minimum}, {m.maximum}]")
    return Judgment(annotator, tuple(values))


def _dimension(dimensions: Any, wanted: str | None) -> Any:
    if not isinstance(dimensions, list) or not dimensions:
        raise BadAnswer("incomplete answer", "ordinalRankingDimensions is empty")
    names = [d.get("name") if isinstance(d, dict) else None for d in dimensions]
    if wanted is None:
        if len(dimensions) > 1:
            raise BadAnswer(
                "several ranking dimensions",
                f"dimensions {names}: choose one with --dimension (or dimension in a mapping file)",
            )
        chosen = dimensions[0]
    elif wanted in names:
        chosen = dimensions[names.index(wanted)]
    else:
        raise BadAnswer("ranking dimension missing", f"no dimension {wanted!r} among {names}")
    return chosen.get("responseRankings") if isinstance(chosen, dict) else None


def _number(value: Any, where: str) -> float:
    """A rank or rating: numbers, numeric strings ("1"), a {"label": "1"} or a radio group {"1": true}."""
    if isinstance(value, bool):
        raise BadAnswer("not a number", f"{where} = {value!r}")
    if isinstance(value, int | float | str):
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (ValueError, OverflowError):
            raise BadAnswer("not a number", f"{where} = {value!r}") from None
        if not math.isfinite(number):
            raise BadAnswer("not a number", f"{where} = {value!r}")
        return number
    if isinstance(value, dict):
        return _number(_label(value, where), where)
    raise BadAnswer("not a number", f"{where} = {value!r}")


def _label(value: Any, where: str) -> str:
    """A category: a string, {"label": x} (crowd-classifier) or exactly one true key (radio buttons)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict):
        if "label" in value:
            return _label(value["label"], where)
        chosen = [str(k) for k, v in value.items() if v is True]
        if len(chosen) == 1:
            return chosen[0]
        raise BadAnswer("not one choice", f"{where} selects {len(chosen)} options")
    if value is None:
        raise BadAnswer("incomplete answer", f"missing {where}")
    raise BadAnswer("not a label", f"{where} = {value!r}")


def _show(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _shape(loop: RawLoop) -> str:
    keys = sorted({k for a in loop.answers if isinstance(a.answer, dict) for k in a.answer})
    top = sorted(loop.input) if isinstance(loop.input, dict) else type(loop.input).__name__
    return f"inputContent keys {top}, answer keys {keys[:10]}; describe them in a mapping file (--mapping)"
