"""Template checks: mistakes in a worker template that a worker would not notice but the training data
would (docs/cli.md `crowdloop lint`). Shown by `crowdloop lint`, `crowdloop preview`, the console's
template page and the export's problem report.

    check_template(template, task_input=None, *, mapping=None, limits=...) -> list[Finding]

How: the template is rendered with an input in which each candidate response is replaced by a marker
(`clmark0x`, `clmark1x`, ...), and the rendered page is scanned (crowdloop.templatehtml) for the markers and
the form fields. The input is the one given (a loop's InputContent), or else one made up from the
`task.input` paths the template's Liquid expressions read (crowdloop.liquid.references): lists get as
many elements as the expressions index, and as many as the answer fields number. Which answer field
refers to which response is decided by the export's own mapping (crowdloop.export.mapping: the one given,
else the convention `detect` recognises in an answer made of the template's form fields), so the check
and the export cannot disagree.

Findings (code, severity):

    syntax             error    the template does not parse
    render             error    rendering fails with the given input (info with a made-up input)
    value-not-shown    warning  a response an answer field refers to is never shown
    value-shown-twice  warning  a response is shown in two items (stretches between form fields)
    field-unmapped     warning  a response-like form field the mapping reads for no response of the input
    field-missing      warning  no form field for a response the input has: every answer is incomplete
    mapping            info     the mapping used, or that the export recognises no convention
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from crowdloop.export.mapping import (
    PAIRWISE_CHOICES,
    PROMPT_PATHS,
    RESPONSE_PATHS,
    Mapping,
    convention_of_key,
    detect,
    get_path,
    response_keys,
    response_of_key,
)
from crowdloop.export.model import RawAnswer, RawLoop
from crowdloop.liquid import RenderLimits, render_task
from crowdloop.liquid import check_template as parse_errors
from crowdloop.liquid.budget import DEFAULT_LIMITS
from crowdloop.liquid.references import InputPath, Reference, input_references
from crowdloop.templatehtml import Field, Scan, scan
from crowdloop.templateinput import listify, made_up_input

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
MAX_RESPONSES = 1000  # answer fields numbering more are not taken as a count of responses
_LINE = re.compile(r"\(line (\d+), column \d+\)")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # error, warning or info
    message: str  # for the template's author: names the field or expression
    line: int | None = None  # 1-based template line, when known
    summary: str = ""  # short and stable (the export's problem reason)

    def describe(self) -> str:
        """One line: `WARNING line 36: message`."""
        where = f" line {self.line}" if self.line else ""
        return f"{self.severity.upper()}{where}: {self.message}"

    @property
    def alarming(self) -> bool:
        return self.severity != INFO


def check_template(
    template: str,
    task_input: Any = None,
    *,
    mapping: Mapping | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> list[Finding]:
    """The findings about `template`, rendered with `task_input` (None: an input made up from the template's
    expressions), its answers read with `mapping` (None: the convention the export detects)."""
    errors = parse_errors(template)
    if errors:
        message = errors[0].message
        found = _LINE.search(message)
        return [Finding("syntax", ERROR, f"the template does not parse: {message}", int(found[1]) if found else None)]
    references = input_references(template)
    given = task_input is not None
    document = copy.deepcopy(task_input) if given else made_up_input(references)
    probe = _Probe(template, document, given, mapping, references, limits)
    return probe.findings()


# --- helpers ---------------------------------------------------------------------------------------------


def _responses_wanted(mapping: Mapping, fields: list[Field], count: int) -> int:
    """How many responses a made-up input needs for the answers: two at least (the export wants two to
    compare), exactly two for a choice, as many as a per-response mapping's fields number."""
    if mapping.layout == "choice":
        return 2
    if mapping.layout == "per-response":
        numbered = [response_of_key(mapping, f.name) for f in fields]
        count = max([count, *((p + 1) for p in numbered if p is not None and p < MAX_RESPONSES)])
    return max(count, 2)


def _responses_path(document: Any, mapping: Mapping | None) -> str | None:
    """Where the candidate responses are: the mapping's path, else the first the export's detection takes."""
    if mapping is not None:
        return mapping.responses if isinstance(get_path(document, mapping.responses), list) else None
    return next((p for p in RESPONSE_PATHS if isinstance(get_path(document, p), list)), None)


def _marker(position: int) -> str:
    return f"clmark{position}x"


def _text_key(response: dict[str, Any], mapping: Mapping | None) -> str:
    key = mapping.response_text if mapping is not None else "text"
    if key not in response and key == "text" and isinstance(response.get("role"), str):
        return "content"  # a chat message (the export reads its content)
    return key


def _name(path: str, position: int) -> str:
    return f"{path}[{position}]"


# --- the check ---------------------------------------------------------------------------------------------


class _Probe:
    """One template, one input: render with markers, scan, read the fields with the mapping, judge."""

    def __init__(
        self,
        template: str,
        document: Any,
        given: bool,
        mapping: Mapping | None,
        references: list[Reference],
        limits: RenderLimits,
    ) -> None:
        self.template = template
        self.document = document
        self.given = given
        self.mapping = mapping
        self.references = references
        self.limits = limits
        self.out: list[Finding] = []

    def findings(self) -> list[Finding]:
        if not self.given:
            if self.mapping is not None:
                listify(self.document, [self.mapping.responses], create=True)
            else:
                listify(self.document, list(RESPONSE_PATHS), create=False)
        path = _responses_path(self.document, self.mapping)
        page = self._render(path)
        mapping = self.mapping or self._detect(page.fields, path)
        if mapping is not None and path is not None and not self.given and mapping.layout != "item":
            responses = get_path(self.document, path)
            wanted = _responses_wanted(mapping, page.fields, len(responses))
            if wanted > len(responses):  # the answers refer to more responses than the expressions read
                like = responses[-1] if responses else path
                responses.extend(copy.deepcopy(like) for _ in range(wanted - len(responses)))
                self.out.clear()
                page = self._render(path)
        if mapping is None:
            if page.fields:
                names = ", ".join(f.name for f in page.fields[:8])
                self.out.append(
                    Finding(
                        "mapping",
                        INFO,
                        f"the export recognises none of its conventions in the form fields ({names}) with this "
                        "input: an export needs a mapping file (docs/export.md); no response was checked",
                    )
                )
        elif path is None or mapping.layout == "item":
            self._mapping_info(mapping, path, None)
        else:
            self._judge(mapping, path, page)
        return sorted(self.out, key=lambda f: (SEVERITIES.index(f.severity), f.line or 0))

    def _render(self, path: str | None) -> Scan:
        probe = copy.deepcopy(self.document)
        responses = get_path(probe, path) if path is not None else None
        markers: list[str] = []
        for position, response in enumerate(responses if isinstance(responses, list) else []):
            markers.append(_marker(position))
            if isinstance(response, dict):
                response[_text_key(response, self.mapping)] = markers[-1]
            else:
                responses[position] = markers[-1]  # type: ignore[index]  # a list, checked above
        result = render_task(self.template, probe, limits=self.limits)
        for error in result.errors:
            found = _LINE.search(error.message)
            line = int(found[1]) if found else None
            if self.given:
                self.out.append(Finding("render", ERROR, f"{error.code}: {error.message}", line))
            else:
                message = f"{error.code} with a made-up input (check with a real one: --input): {error.message}"
                self.out.append(Finding("render", INFO, message, line))
        return scan(result.html, markers)

    def _detect(self, fields: list[Field], path: str | None) -> Mapping | None:
        if not fields:
            return None
        document = self.document
        if not self.given and not any(get_path(document, p) is not None for p in PROMPT_PATHS):
            document = copy.deepcopy(document)  # the export needs a prompt; the check does not look at it
            if path is not None and path.startswith("taskObject."):
                document.setdefault("taskObject", {})["prompt"] = "prompt"
            else:
                document["prompt"] = "prompt"
        responses = get_path(document, path) if path is not None else None
        count = len(responses) if isinstance(responses, list) else 2
        answer = {f.name: _answer_value(f, count) for f in fields}
        return detect(RawLoop("template", "template", document, (RawAnswer("template", answer),)))

    def _mapping_info(self, mapping: Mapping, path: str | None, count: int | None) -> None:
        if mapping.layout == "item":
            what = "a label for the whole item"
        elif count is None:
            what = f"no list of responses at {mapping.responses}"
        else:
            what = f"{count} responses at {path}"
        input_kind = "the given input" if self.given else "a made-up input"
        read = f"{mapping.field}" + (f" (i = {mapping.index_base} for the first)" if "{i}" in mapping.field else "")
        message = (
            f"answers read as the export does: convention {mapping.name}, {mapping.kind} from {read}; "
            f"{what} in {input_kind}"
        )
        self.out.append(Finding("mapping", INFO, message))

    def _judge(self, mapping: Mapping, path: str, page: Scan) -> None:
        responses = get_path(self.document, path)
        count = len(responses)
        self._mapping_info(mapping, path, count)
        names = {f.name for f in page.fields}
        referred: dict[int, str] = {}  # response position -> the answer field that refers to it
        if mapping.layout == "per-response":
            for position, key in enumerate(response_keys(mapping, count)):
                if key in names:
                    referred[position] = key
                elif self.given or self._indexed(path, position):
                    self.out.append(self._missing(path, position, key))
            self._unmapped(mapping, path, page.fields, count)
        elif mapping.layout == "list":
            referred = dict.fromkeys(range(count), mapping.field.split(".")[0])
        elif mapping.layout == "choice":
            referred = dict.fromkeys(range(min(count, 2)), mapping.field)
            if self.given and count != 2:
                self.out.append(
                    Finding(
                        "field-unmapped",
                        WARNING,
                        f"{mapping.field} chooses between two responses but the input has {count} at {path}: "
                        "the export drops every answer ('choice needs two responses')",
                        self._line_of(mapping.field),
                        f"template field {mapping.field} needs two responses",
                    )
                )
        unseen = [p for p in referred if _marker(p) not in page.shown]
        for position in unseen:
            self.out.append(self._not_shown(path, position, referred[position]))
        for position in range(count):
            places = page.items.get(_marker(position), [])
            # twice in separate items, or twice anywhere while a response the answers refer to is never shown
            if len(set(places)) >= 2 or (len(places) >= 2 and unseen):
                self.out.append(self._twice(path, position, places, page))

    def _not_shown(self, path: str, position: int, field: str) -> Finding:
        value = _name(path, position)
        return Finding(
            "value-not-shown",
            WARNING,
            f"{value} is never shown, yet the answer field {field} refers to it: the export pairs {field} "
            "with a text no worker saw",
            self._line_of(field),
            f"template never shows {value} ({field})",
        )

    def _twice(self, path: str, position: int, places: list[int], page: Scan) -> Finding:
        value = _name(path, position)
        items = sorted(set(places))
        lines = self._lines_of(path, position)
        where = f" (template lines {', '.join(map(str, lines))})" if len(lines) > 1 else ""
        if len(items) > 1:
            fields = [f"before {page.field_after(i)}" if page.field_after(i) else "after the last field" for i in items]
            how = f"in separate items ({'; '.join(fields)})"
        else:
            how = "while another response is never shown"
        return Finding(
            "value-shown-twice",
            WARNING,
            f"{value} is shown {len(places)} times, {how}{where}: a worker sees the same response twice, and "
            "answers about it as if it were another",
            lines[-1] if len(lines) > 1 else None,
            f"template shows {value} {len(places)} times",
        )

    def _missing(self, path: str, position: int, key: str) -> Finding:
        value = _name(path, position)
        return Finding(
            "field-missing",
            WARNING,
            f"no form field {key} for {value}: the export reads every answer as incomplete and drops it",
            None,
            f"template has no field {key} for {value}",
        )

    def _unmapped(self, mapping: Mapping, path: str, fields: list[Field], count: int) -> None:
        for field in fields:
            position = response_of_key(mapping, field.name)
            if position is not None and not 0 <= position < count:
                self.out.append(
                    Finding(
                        "field-unmapped",
                        WARNING,
                        f"form field {field.name} refers to {_name(path, position)}, which the input does not have "
                        f"({count} responses): the export drops answers with it",
                        self._line_of(field.name),
                        f"template field {field.name} refers to no response",
                    )
                )
            elif position is None and (other := convention_of_key(field.name)) is not None:
                self.out.append(
                    Finding(
                        "field-unmapped",
                        WARNING,
                        f"form field {field.name} is not read: the export reads {mapping.field} "
                        f"(convention {mapping.name}), {field.name} belongs to convention {other}",
                        self._line_of(field.name),
                        f"template field {field.name} is not read",
                    )
                )

    def _indexed(self, path: str, position: int) -> bool:
        return bool(self._lines_of(path, position))

    def _lines_of(self, path: str, position: int) -> list[int]:
        """The template lines whose expressions read response `position` by its index."""
        wanted: InputPath = (*(int(p) if p.isdigit() else p for p in path.split(".")), position)
        return sorted({r.line for r in self.references if r.path[: len(wanted)] == wanted})

    def _line_of(self, text: str) -> int | None:
        """The first template line naming a form field (None: its name is made by Liquid)."""
        found = re.search(r"""name\s*=\s*["']?""" + re.escape(text) + r"""["'\s>]""", self.template)
        return self.template.count("\n", 0, found.start()) + 1 if found else None


def _answer_value(field: Field, count: int) -> Any:
    """A plausible answer of a form field, enough for the export's detection to recognise its convention."""
    if field.tag in ("crowd-classifier", "crowd-image-classifier"):
        categories = _categories(field.attributes.get("categories", ""))
        pairwise = [c for c in categories if c.strip().lower() in PAIRWISE_CHOICES]
        return {"label": (pairwise or categories or ["label"])[0]}
    if field.tag == "crowd-text-ranking":
        return {"ordinalRankingDimensions": [{"name": "dimension", "responseRankings": list(range(1, count + 1))}]}
    if field.tag == "crowd-slider":
        return 1
    return "1"


def _categories(text: str) -> list[str]:
    for candidate in (text, text.replace("'", '"')):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, list):
            return [str(v.get("label", "")) if isinstance(v, dict) else str(v) for v in value]
    return []
