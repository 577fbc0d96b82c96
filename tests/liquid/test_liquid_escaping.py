"""Autoescape and the escaping filters: Ruby/CGI style (`&#39;`, `&quot;`), never twice."""

from __future__ import annotations

import pytest

from crowdloop.liquid import render_task
from crowdloop.liquid.text import escape_html, escape_html_once


def render(template: str, task_input: object = None) -> str:
    result = render_task(template, task_input)
    assert result.errors == []
    return result.html


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "Have you read 'James & the Giant Peach'?",
            "Have you read &#39;James &amp; the Giant Peach&#39;?",
        ),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('say "hi"', "say &quot;hi&quot;"),
        ("it's", "it&#39;s"),
        ("&amp; stays data", "&amp;amp; stays data"),
        ("naïve — 日本語", "naïve — 日本語"),
        ("", ""),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
        (None, ""),
    ],
)
def test_output_is_escaped_cgi_style(value: object, expected: str) -> None:
    assert render("{{ task.input.v }}", {"v": value}) == expected


def test_escape_html_table() -> None:
    assert escape_html("& < > \" '") == "&amp; &lt; &gt; &quot; &#39;"
    assert escape_html_once("&amp; &#39; &#x2F; &copy; & <") == "&amp; &#39; &#x2F; &copy; &amp; &lt;"


@pytest.mark.parametrize(
    "value",
    ["Have you read 'James & the Giant Peach'?", '<a href="x">', "&lt;already&gt;"],
)
def test_escape_filter_matches_autoescape_without_double_escaping(value: str) -> None:
    data = {"v": value}
    assert render("{{ task.input.v | escape }}", data) == render("{{ task.input.v }}", data)
    assert render("{{ task.input.v | escape }}", data) == escape_html(value)


def test_escape_once_keeps_existing_entities() -> None:
    data = {"v": "Tom &amp; Jerry & <Friends> &#39;s"}
    assert render("{{ task.input.v | escape_once }}", data) == "Tom &amp; Jerry &amp; &lt;Friends&gt; &#39;s"


def test_skip_autoescape_outputs_raw() -> None:
    assert render("{{ task.input.v | skip_autoescape }}", {"v": "<b>bold</b> & 'q'"}) == "<b>bold</b> & 'q'"


def test_escape_of_json_escapes_the_json() -> None:
    # amazon-a2i-sample-task-uis uses `{{ task.input.labels | to_json | escape }}` in attributes
    assert render("{{ task.input.l | to_json | escape }}", {"l": ["a", "b"]}) == "[&quot;a&quot;,&quot;b&quot;]"


def test_escape_of_an_object_is_escaped_json() -> None:
    assert render("{{ task.input.g | escape }}", {"g": {"x": [1, "y"]}}) == "{&quot;x&quot;:[1,&quot;y&quot;]}"


def test_data_joined_to_a_literal_is_escaped_with_quot() -> None:
    data = {"v": 'a"b'}
    assert render('{{ "Label: " | append: task.input.v }}', data) == "Label: a&quot;b"
    assert render('{{ task.input.v | append: "!" }}', data) == "a&quot;b!"


def test_string_literals_are_escaped_too() -> None:
    assert render('{{ "<br>" }}') == "&lt;br&gt;"


def test_captured_markup_is_not_escaped_twice() -> None:
    template = "{% capture c %}<b>{{ task.input.v }}</b>{% endcapture %}{{ c }}"
    assert render(template, {"v": "a & b"}) == "<b>a &amp; b</b>"


def test_echo_and_cycle_escape() -> None:
    data = {"v": "<i>"}
    assert render("{% echo task.input.v %}", data) == "&lt;i&gt;"
    assert render("{% liquid\necho task.input.v %}", data) == "&lt;i&gt;"
    assert render('{% cycle task.input.v, "b" %}', data) == "&lt;i&gt;"


def test_newline_filters_escape_their_input() -> None:
    data = {"v": "a\n<b>"}
    assert render("{{ task.input.v | newline_to_br }}", data) == "a<br />\n&lt;b&gt;"
    assert render("{{ task.input.v | strip_newlines }}", data) == "a&lt;b&gt;"
