"""render_task / check_template: objects as JSON, undefined values, errors instead of exceptions."""

from __future__ import annotations

import json
from html import unescape
from html.parser import HTMLParser

from crowdloop.liquid import RenderError, RenderResult, check_template, render_task
from crowdloop.liquid import render as render_module


def attributes(html: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.update(attrs)

    Collector().feed(html)
    return found


def test_objects_and_arrays_print_as_escaped_json() -> None:
    blocks = [{"Id": "1", "Text": 'Jane\'s "form" & <co>', "Geometry": {"Left": 0.1}}, {"Id": "2"}]
    html = render_task(
        '<x initial-value="{{ task.input.blocks }}">{{ task.input.flags }}</x>',
        {"blocks": blocks, "flags": [1, True, None]},
    ).html
    assert html.endswith(">[1,true,null]</x>")
    value = attributes(html)["initial-value"]
    assert value is not None
    assert json.loads(value) == blocks  # the HTML parser unescapes the attribute
    assert html.startswith(
        '<x initial-value="[{&quot;Id&quot;:&quot;1&quot;,'
        "&quot;Text&quot;:&quot;Jane&#39;s \\&quot;form\\&quot; &amp; &lt;co&gt;&quot;,"
        '&quot;Geometry&quot;:{&quot;Left&quot;:0.1}},{&quot;Id&quot;:&quot;2&quot;}]">'
    )


def test_nested_object_prints_as_json() -> None:
    html = render_task("{{ task.input.a.b }}", {"a": {"b": {"c": "d"}}}).html
    assert json.loads(unescape(html)) == {"c": "d"}


def test_undefined_variables_render_empty() -> None:
    template = (
        "[{{ task.input.nope }}][{{ task.input.nope.deeper[3] }}][{{ other }}]"
        "[{% for x in task.input.nope %}x{% endfor %}]"
    )
    result = render_task(template, {})
    assert result == RenderResult(html="[][][][]", errors=[])


def test_task_input_need_not_be_an_object() -> None:
    assert render_task("{{ task.input[1] }}|{{ task.input.size }}", ["a", "b"]).html == "b|2"


def test_syntax_error_is_reported_by_check_template() -> None:
    assert check_template("<p>{{ task.input.x }}</p>{% if task.input.x %}ok{% endif %}") == []
    errors = check_template("<p>\n{% for %}</p>")
    assert errors == [RenderError("TemplateSyntaxError", "missing expression (line 2, column 4)")]
    assert check_template("{% if x %}never closed")[0].code == "TemplateSyntaxError"
    assert check_template("{{ x")[0].code == "TemplateSyntaxError"


def test_syntax_error_is_reported_by_render_task_without_raising() -> None:
    result = render_task("<p>{{ task.input.x }}</p>{% endif %}", {"x": "y"})
    assert result.html == ""
    assert result.errors == [RenderError("TemplateSyntaxError", "unexpected tag 'endif' (line 1, column 29)")]


def test_check_template_only_parses() -> None:
    assert check_template("{{ x | no_such_filter }}") == []


def test_undefined_filter_is_an_error_not_an_exception() -> None:
    result = render_task("before {{ task.input.x | no_such_filter }} after {{ task.input.x }}", {"x": "v"})
    assert result.html == "before  after v"
    assert result.errors == [RenderError("UndefinedFilter", "unknown filter 'no_such_filter' (line 1, column 26)")]


def test_every_failing_node_is_reported_and_rendering_goes_on() -> None:
    result = render_task("{{ a | nope }}1{% break %}2{{ 1 | divided_by: 0 }}3", {})
    assert result.html == "123"
    assert [e.code for e in result.errors] == ["UndefinedFilter", "TemplateSyntaxError", "RenderError"]


def test_partials_are_not_available() -> None:
    result = render_task("{% include 'header' %}x", {})
    assert result.html == "x"
    assert result.errors[0].message.startswith("template not found: 'header'")


def test_runaway_loops_end_the_render() -> None:
    result = render_task("{% for i in (1..100000000) %}{% endfor %}done", {})
    assert result.html == ""
    assert [e.code for e in result.errors] == ["ResourceLimitExceeded"]
    assert result.errors[0].message.startswith("The template exceeded the render budget: a range of 100,000,000")


def test_unexpected_library_failures_are_reported() -> None:
    # python-liquid's `sum` raises decimal.InvalidOperation on non-numeric strings
    result = render_task("a{{ task.input.l | sum }}b", {"l": [1, "x"]})
    assert [e.code for e in result.errors] == ["RenderError"]
    assert result.html == "a"


def test_parsed_templates_are_cached_by_text() -> None:
    template = "<p>{{ task.input.cache_probe }}</p>"
    render_task(template, {"cache_probe": 1})
    hits = render_module._parse.cache_info().hits
    assert render_task(template, {"cache_probe": 2}).html == "<p>2</p>"
    assert check_template(template) == []
    assert render_module._parse.cache_info().hits == hits + 2
