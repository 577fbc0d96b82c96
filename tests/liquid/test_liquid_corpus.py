"""Every real worker template in tests/data/corpus renders with its sample input, without errors.

The corpus (174 templates from AWS sample repositories) is kept in the repository, at `tests/data/corpus`
(sources and licences: tests/data/SOURCES.md). Its sample inputs prefix every text value with its field
name, so each value the template interpolates can be found in the output: every string of the sample
input must appear in the rendered HTML (as text, HTML-escaped, or inside JSON), `s3://` URIs that the
template grants as the granted URL, except the few values a template only compares (`VALUES_NOT_PRINTED`).
A missing corpus is a failure, not a skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser

from crowdloop.liquid import render_task
from crowdloop.liquid.text import escape_html, to_json
from tests.shared import CORPUS

# template path -> input keys whose values are only used in conditions, never printed
VALUES_NOT_PRINTED = {
    "sample-bda-multi-page-a2i/src/bda-document-classifier/bda_template_multi.html": {"type"},
}


def grant(uri: str) -> str:
    return "https://granted.example/" + uri.removeprefix("s3://") + "?X-Amz-Expires=300&X-Amz-Signature=abc"


def strings(value: object, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string) for every string in `value`; list items take the key of their list."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, key)
    elif isinstance(value, str):
        yield key, value


def printed_forms(value: str, template: str) -> set[str]:
    in_json = json.dumps(value, ensure_ascii=False)[1:-1]
    forms = {value, escape_html(value), to_json(value)[1:-1], in_json, escape_html(in_json)}
    if value.startswith("s3://") and "grant_read_access" in template:
        forms = {grant(value)}
    return forms


def check(record: dict[str, object]) -> list[str]:
    """Problems with one template: render errors, leftovers of Liquid, input values not printed."""
    path = str(record["path"])
    sample = record.get("sample_input")
    if not sample:
        return [f"{path}: no sample input in index.json"]
    template = (CORPUS / path).read_text(encoding="utf-8")
    task_input = json.loads((CORPUS / str(sample)).read_text(encoding="utf-8"))
    result = render_task(template, task_input, grant_read_access=grant)
    problems = [f"{path}: {error.code}: {error.message}" for error in result.errors]
    if not result.html.strip():
        problems.append(f"{path}: empty output")
    if "{{" in result.html or "{%" in result.html:
        problems.append(f"{path}: Liquid markup left in the output")
    skipped = VALUES_NOT_PRINTED.get(path, set())
    for key, value in strings(task_input):
        if key not in skipped and not any(form in result.html for form in printed_forms(value, template)):
            problems.append(f"{path}: task.input value {value[:60]!r} (key {key!r}) not in the output")
    return problems


def test_corpus_templates_render() -> None:
    assert CORPUS.is_dir(), f"template corpus not found at {CORPUS}"
    records = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    assert len(records) == 174
    failures = {str(r["path"]): check(r) for r in records}
    failing = {path: problems for path, problems in failures.items() if problems}
    print(f"{len(records) - len(failing)}/{len(records)} corpus templates render")
    assert failing == {}


def test_textract_blocks_round_trip_through_the_attribute() -> None:
    # AWS's own template prints an array without to_json: initial-value="{{ ...blocks }}"
    path = "amazon-a2i-sample-task-uis/text/textract_analyze_document.liquid.html"
    template = (CORPUS / path).read_text(encoding="utf-8")
    task_input = json.loads((CORPUS / "inputs" / f"{path}.json").read_text(encoding="utf-8"))
    html = render_task(template, task_input, grant_read_access=grant).html

    found: dict[str, str | None] = {}

    class Attributes(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "crowd-textract-analyze-document":
                found.update(attrs)

    Attributes().feed(html)
    document = task_input["aiServiceRequest"]["document"]["s3Object"]
    assert found["src"] == grant(f"s3://{document['bucket']}/{document['name']}")
    assert json.loads(found["initial-value"] or "") == task_input["selectedAiServiceResponse"]["blocks"]
