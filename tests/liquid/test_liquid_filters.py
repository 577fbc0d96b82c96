"""The A2I filters: to_json, grant_read_access, skip_autoescape; plus the standard tags and filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import unescape

import pytest

from crowdloop.liquid import RenderError, render_task


def grant(uri: str) -> str:
    return "https://s3.example/" + uri.removeprefix("s3://") + "?X-Amz-Expires=300&X-Amz-Signature=abc"


def render(template: str, task_input: object = None, grant_read_access: Callable[[str], str] | None = None) -> str:
    result = render_task(template, task_input, grant_read_access=grant_read_access)
    assert result.errors == []
    return result.html


# to_json


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["angry", "sad"], '["angry","sad"]'),
        ({"a": 1, "b": [True, None]}, '{"a":1,"b":[true,null]}'),
        ("text", '"text"'),
        (3, "3"),
        (None, "null"),
        ("naïve", '"naïve"'),
    ],
)
def test_to_json_outputs_raw_compact_json(value: object, expected: str) -> None:
    assert render("{{ task.input.v | to_json }}", {"v": value}) == expected


def test_to_json_of_undefined_is_null() -> None:
    assert render("{{ task.input.missing | to_json }}", {}) == "null"


def test_to_json_stays_inside_a_single_quoted_attribute() -> None:
    labels = ["it's", "<b>&</b>", 'say "x"']
    html = render("<c categories='{{ task.input.labels | to_json }}'>", {"labels": labels})
    assert html == """<c categories='["it\\u0027s","\\u003cb\\u003e\\u0026\\u003c/b\\u003e","say \\"x\\""]'>"""
    attribute = html.removeprefix("<c categories='").removesuffix("'>")
    assert "'" not in attribute
    assert json.loads(unescape(attribute)) == labels


# skip_autoescape


def test_skip_autoescape_of_an_object_is_raw_json() -> None:
    assert render("{{ task.input.v | skip_autoescape }}", {"v": {"k": "<v>"}}) == '{"k":"<v>"}'


# grant_read_access


def test_grant_read_access_on_a_string() -> None:
    html = render(
        '<img src="{{ task.input.img | grant_read_access }}">',
        {"img": "s3://bkt/a/b.png"},
        grant_read_access=grant,
    )
    assert html == '<img src="https://s3.example/bkt/a/b.png?X-Amz-Expires=300&X-Amz-Signature=abc">'


def test_grant_read_access_on_an_array() -> None:
    data = {"imgs": ["s3://bkt/1.png", "s3://bkt/2.png"]}
    html = render("{{ task.input.imgs | grant_read_access | to_json }}", data, grant_read_access=grant)
    assert json.loads(html) == [grant("s3://bkt/1.png"), grant("s3://bkt/2.png")]
    template = "{% assign urls = task.input.imgs | grant_read_access %}{% for u in urls %}[{{ u }}]{% endfor %}"
    assert render(template, data, grant_read_access=grant) == f"[{grant('s3://bkt/1.png')}][{grant('s3://bkt/2.png')}]"


def test_grant_read_access_without_a_callable_returns_the_value() -> None:
    assert render("{{ task.input.img | grant_read_access }}", {"img": "s3://bkt/k.png"}) == "s3://bkt/k.png"
    assert render("{{ task.input.img | grant_read_access }}", {"img": "s3://b/<x>"}) == "s3://b/&lt;x&gt;"


def test_grant_read_access_leaves_other_values_alone() -> None:
    calls: list[str] = []

    def spy(uri: str) -> str:
        calls.append(uri)
        return "granted"

    data = {"web": "https://example.com/a.png", "n": 3, "list": ["https://x", 1]}
    template = "|".join(
        f"{{{{ task.input.{name} | grant_read_access{then} }}}}"
        for name, then in [("web", ""), ("n", ""), ("missing", ""), ("list", " | to_json")]
    )
    assert render(template, data, grant_read_access=spy) == 'https://example.com/a.png|3||["https://x",1]'
    assert calls == []


def test_grant_read_access_reads_a_captured_uri_as_text() -> None:
    # AWS's textract/rekognition templates capture "s3://{{ bucket }}/{{ name }}" and grant it
    template = (
        "{% capture s3_uri %}s3://{{ task.input.b }}/{{ task.input.k }}{% endcapture %}{{ s3_uri | grant_read_access }}"
    )
    seen: list[str] = []

    def spy(uri: str) -> str:
        seen.append(uri)
        return "https://granted"

    assert render(template, {"b": "bkt", "k": "a&b.png"}, grant_read_access=spy) == "https://granted"
    assert seen == ["s3://bkt/a&b.png"]


def test_a_granted_url_that_is_not_url_safe_is_escaped() -> None:
    html = render("{{ task.input.img | grant_read_access }}", {"img": "s3://b/k"}, grant_read_access=lambda u: '"><x>')
    assert html == "&quot;&gt;&lt;x&gt;"


def test_a_failing_grant_callable_is_a_render_error() -> None:
    def refuse(uri: str) -> str:
        raise ValueError("bucket not allowed")

    result = render_task(
        "a{{ task.input.img | grant_read_access }}b", {"img": "s3://other/k"}, grant_read_access=refuse
    )
    assert result.html == "ab"
    assert [e.code for e in result.errors] == ["RenderError"]
    assert "bucket not allowed" in result.errors[0].message


def test_the_grant_callable_belongs_to_one_render() -> None:
    render("{{ task.input.img | grant_read_access }}", {"img": "s3://b/k"}, grant_read_access=grant)
    assert render("{{ task.input.img | grant_read_access }}", {"img": "s3://b/k"}) == "s3://b/k"


# standard Liquid


def test_standard_tags() -> None:
    template = (
        "{% assign n = task.input.items | size %}"
        "{% for x in task.input.items %}{{ forloop.index }}:{{ x.name | upcase }}"
        "{% unless forloop.last %},{% endunless %}{% endfor %}"
        "|{% if n > 2 %}many{% elsif n == 2 %}two{% else %}few{% endif %}"
        "|{% case task.input.kind %}{% when 'a' %}A{% when 'b' %}B{% else %}?{% endcase %}"
        "|{% for i in (1..3) %}{{ i | times: 2 }}{% endfor %}"
        "|{% for row in task.input.grid %}{% for c in row %}"
        "{{ forloop.parentloop.index }}{{ c }}{% endfor %}{% endfor %}"
        "|{{ task.input.items[1].name }}|{% assign k = 'kind' %}{{ task.input[k] }}"
        "|{% if task.input.none == null and task.input.items != empty %}ok{% endif %}"
    )
    data = {"items": [{"name": "a"}, {"name": "b"}], "kind": "b", "grid": [["x", "y"], ["z"]], "none": None}
    assert render(template, data) == "1:A,2:B|two|B|246|1x1y2z|b|b|ok"


def test_standard_filters() -> None:
    data = {"c": 0.876, "s": "  Hello World  ", "l": [3, 1, 2]}
    template = (
        "{{ task.input.c | times: 100 | round }}"
        "|{{ task.input.s | strip | downcase | replace: 'world', 'there' }}"
        "|{{ task.input.l | sort | join: '-' }}|{{ task.input.l | size | minus: 1 }}"
        "|{{ 'x' | append: 'y' | prepend: 'w' }}"
        "|{{ task.input.missing | default: 'none' }}|{{ task.input.s | strip | truncate: 8 }}"
    )
    assert render(template, data) == "88|hello there|1-2-3|2|wxy|none|Hello..."


def test_filter_with_wrong_arguments_is_a_render_error() -> None:
    result = render_task("{{ 1 | divided_by: 0 }}", {})
    assert result.errors == [RenderError("RenderError", "divided_by: can't divide by 0 (line 1, column 8)")]
