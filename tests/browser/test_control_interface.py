"""CL.CrowdControl (03-control.js): every form control extends it, and an element written the way
docs/crowd-elements.md ("Adding an element") says answers through crowd-form with no other code."""

from __future__ import annotations

from tests.browser.harness import TaskPage

# A control that answers a fixed number: _crowdValue() is all it defines.
ANSWER_42 = """<script>
CrowdLoop.defineControl('x-answer', class extends CrowdLoop.CrowdControl { _crowdValue() { return 42; } });
</script>
<crowd-form><x-answer name="n"></x-answer><x-answer id="unnamed"></x-answer></crowd-form>"""


def test_every_control_extends_crowd_control(task: TaskPage) -> None:
    page = task.open("<p>controls</p>")
    tags = page.evaluate("CrowdLoop.controlTags")
    assert len(tags) >= 20 and "crowd-form" not in tags
    not_controls = page.evaluate(
        "tags => tags.filter(t => !(customElements.get(t).prototype instanceof CrowdLoop.CrowdControl))", tags
    )
    assert not_controls == []


def test_define_control_refuses_a_class_without_the_interface(task: TaskPage) -> None:
    page = task.open("<p>controls</p>")
    error = page.evaluate("""() => {
      try { CrowdLoop.defineControl('x-plain', class extends HTMLElement {}); return null; }
      catch (e) { return e.name + ': ' + e.message; }
    }""")
    assert error == "TypeError: x-plain: a form control must extend CL.CrowdControl"
    registered = "[customElements.get('x-plain') !== undefined, CrowdLoop.controlTags.includes('x-plain')]"
    assert page.evaluate(registered) == [False, False]


def test_a_new_control_answers_through_the_defaults(task: TaskPage) -> None:
    page = task.open(ANSWER_42)
    el = page.locator("x-answer").first  # name="n"
    defaults = "e => [e.name, e.value, e._submittableValue, e._crowdValidate(), e._crowdLabel()]"
    assert el.evaluate(defaults) == ["n", 42, 42, "", ""]
    el.evaluate("e => { e.name = 'renamed'; }")
    assert el.evaluate("e => e.getAttribute('name')") == "renamed"
    assert page.evaluate("document.querySelector('crowd-form').serialize()") == {"renamed": 42}
    assert task.submit_and_answer() == {"renamed": 42}  # the unnamed one answers nothing
