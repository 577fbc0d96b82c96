"""Lenient parsing of JS-literal attribute values (catalog §2.7): CrowdLoop.parseLiteral and the
attributes that use it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import TaskPage

CASES = [
    ("['Cat','Dog']", ["Cat", "Dog"]),
    ('["a", "b"]', ["a", "b"]),
    ("{ text: 'None of the above' }", {"text": "None of the above"}),
    ('[{name:"Weapons", parentName:"Violence",},]', [{"name": "Weapons", "parentName": "Violence"}]),
    ("[{'label': 'person', 'shortDisplayName': 'per'}]", [{"label": "person", "shortDisplayName": "per"}]),
    (
        """{
        // two lines, a comment and a block comment
        lines: [ /* first */ {label: 'lane', vertices: [{x: 1, y: -2.5}, {x: 0x10, y: 1e2}]} ],
     }""",
        {"lines": [{"label": "lane", "vertices": [{"x": 1, "y": -2.5}, {"x": 16, "y": 100}]}]},
    ),
    (
        "['it\\'s', \"say \\\"hi\\\"\", 'tab\\tnew\\nline', '\\u00e9\\x41']",
        ["it's", 'say "hi"', "tab\tnew\nline", "éA"],
    ),
    ("[true, false, null, undefined, 3, +4, .5]", [True, False, None, None, 3, 4, 0.5]),
    ("'plain string'", "plain string"),
    ('[{"name":"Clarity","allowTie":true}]', [{"name": "Clarity", "allowTie": True}]),
]


@pytest.fixture
def parser(task: TaskPage) -> TaskPage:
    task.open("<p>parser</p>")
    return task


def test_parse_literal(parser: TaskPage) -> None:
    for text, expected in CASES:
        assert parser.page.evaluate("t => CrowdLoop.parseLiteral(t)", text) == expected, text


def test_parse_literal_rejects_garbage(parser: TaskPage) -> None:
    for text in ["['a',", "{a: }", "[1 2]", "alert(1)", "['a'] trailing", "{'a': b}", "`x", ""]:
        error = parser.page.evaluate(
            "t => { try { CrowdLoop.parseLiteral(t); return null; } catch (e) { return e.name; } }", text
        )
        assert error == "SyntaxError", text


def test_attributes_in_every_spelling(task: TaskPage) -> None:
    # Liquid's `to_json | escape` arrives entity-encoded; the HTML parser decodes it.
    page = task.open("""<crowd-form>
      <crowd-classifier name="a" header="A" categories="[&quot;Yes&quot;, &quot;No&quot;]"></crowd-classifier>
      <crowd-classifier-multi-select name="b" header="B" categories="[
          'One', // the first
          'Two',
        ]" exclusion-category='{text: "Neither"}'></crowd-classifier-multi-select>
      <crowd-classifier name="c" header="C" categories="not a list"></crowd-classifier>
      <crowd-slider name="s" min=" 2 " max="8" value="4"></crowd-slider>
      <crowd-checkbox name="k" checked="">k</crowd-checkbox>
    </crowd-form>""")
    expect(page.get_by_role("radiogroup", name="A").get_by_role("radio")).to_have_count(2)
    expect(page.get_by_role("group", name="B").get_by_role("checkbox")).to_have_count(2)
    expect(page.get_by_role("checkbox", name="Neither")).to_be_visible()
    expect(page.get_by_role("radiogroup", name="C").get_by_role("radio")).to_have_count(0)
    page.get_by_role("radio", name="Yes").check()
    page.get_by_role("checkbox", name="Neither").check()
    page.evaluate("document.querySelector('crowd-classifier[name=c]').remove()")
    assert task.submit_and_answer() == {"a": {"label": "Yes"}, "b": {"labels": ["Neither"]}, "s": 4, "k": {"on": True}}
