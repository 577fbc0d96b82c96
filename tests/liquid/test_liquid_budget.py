"""The render budget: RenderBudget on its own, and render_task ending renders that exceed it."""

from __future__ import annotations

import time

import pytest

from crowdloop.liquid import RenderLimits, render_task
from crowdloop.liquid.budget import MAX_INTEGER_BITS, RenderBudget, RenderBudgetExceeded

SMALL = RenderLimits(steps=100, cpu_seconds=10.0, output_bytes=1000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def error_of(template: str, task_input: object = None, limits: RenderLimits = SMALL) -> str:
    result = render_task(template, task_input or {}, limits=limits)
    assert result.html == ""
    assert [e.code for e in result.errors] == ["ResourceLimitExceeded"], result.errors
    assert result.errors[0].message.startswith("The template exceeded the render budget: ")
    return result.errors[0].message


# --- RenderBudget ---------------------------------------------------------------------------------------


def test_steps_add_up_to_the_limit() -> None:
    budget = RenderBudget(SMALL)
    budget.spend(60)
    budget.spend(40)
    assert budget.steps_left == 0
    with pytest.raises(RenderBudgetExceeded, match="more than 100 steps"):
        budget.spend(1)


def test_require_refuses_what_does_not_fit_without_spending() -> None:
    budget = RenderBudget(SMALL)
    budget.spend(30)
    budget.require(70)
    with pytest.raises(RenderBudgetExceeded, match="a range of 71 steps, with 70 of the 100 steps left"):
        budget.require(71, "a range")
    assert budget.steps == 30


def test_metered_items_spend_one_step_each() -> None:
    budget = RenderBudget(SMALL)
    assert list(budget.metered(iter(range(100)))) == list(range(100))
    with pytest.raises(RenderBudgetExceeded):
        next(budget.metered(iter([1])))


def test_the_clock_is_read_every_so_often_and_ends_the_render_after_its_cpu_time() -> None:
    clock = FakeClock()
    budget = RenderBudget(RenderLimits(steps=10**9, cpu_seconds=2.0), clock=clock)
    clock.now = 2.5
    budget.tick(255)  # not read yet
    with pytest.raises(RenderBudgetExceeded, match="more than 2 s of CPU time"):
        budget.tick()
    clock.now = 0.0
    budget.check_clock()


def test_measure_counts_elements_deeply_and_the_text_they_stand_for() -> None:
    budget = RenderBudget(RenderLimits(steps=100, output_bytes=50))
    assert budget.measure({"a": ["xy", 1, None], "b": {"c": "z"}}) == 1 + 2 + 1 + 1 + 1 + 1 + 1
    assert budget.steps == 2 + 3 + 1
    assert budget.measure("x" * 50) == 50
    with pytest.raises(RenderBudgetExceeded, match="a value of more than 50 characters"):
        budget.measure(["x" * 25] * 3)  # three references to one string: 75 characters of text


def test_measure_refuses_long_ranges_and_wide_numbers() -> None:
    budget = RenderBudget(SMALL)
    with pytest.raises(RenderBudgetExceeded, match="a range of 10,000,000,000,000,000,000,000 steps"):
        budget.measure(range(10**22))
    assert budget.steps == 0
    budget.measure(2**MAX_INTEGER_BITS - 1)
    with pytest.raises(RenderBudgetExceeded, match="a number wider than 4,096 bits"):
        budget.measure(2**MAX_INTEGER_BITS)


# --- render_task ----------------------------------------------------------------------------------------


def test_every_loop_of_the_render_spends_from_one_budget() -> None:
    loop = "{% for i in (1..40) %}{% endfor %}"
    assert render_task(loop * 2, {}, limits=SMALL).errors == []
    assert "a range of 40 steps, with 20 of the 100 steps left" in error_of(loop * 3)
    nested = "{% for i in (1..10) %}{% for j in (1..9) %}{% endfor %}{% endfor %}"
    assert render_task(nested, {}, limits=SMALL).errors == []  # 10 + 10 * 9 steps
    assert "a range of 5 steps, with 0 of the 100 steps left" in error_of(nested + "{% for i in (1..5) %}{% endfor %}")
    rows = {"rows": list(range(30))}
    assert "more than 100 steps" in error_of("{% for i in (1..80) %}{% endfor %}{{ task.input.rows | sort }}", rows)


def test_eight_sequential_million_loops_fail_after_the_first() -> None:
    started = time.thread_time()
    message = error_of("{% for i in (1..1000000) %}{% endfor %}" * 8, limits=RenderLimits())
    assert "a range of 1,000,000 steps, with 0 of the 1,000,000 steps left" in message
    assert time.thread_time() - started < 4.0  # CPU seconds of this thread, which renders; 6.9 s before the budget


def test_loops_that_break_early_spend_only_what_they_ran() -> None:
    early = "{% for i in (1..10) %}{% if i > 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"
    result = render_task(early * 20, {}, limits=SMALL)  # 20 loops of 4 steps (200 without the breaks)
    assert result.errors == [] and result.html == "123" * 20


def test_ranges_longer_than_what_is_left_fail_before_they_are_used() -> None:
    for template in (
        "{{ (1..30000000) | sum }}",
        "{% for i in (1..30000000) reversed %}{% endfor %}",
        "{% for i in (1..300000000000) offset: 299999999990 %}{{ i }}{% endfor %}",
        "{% tablerow i in (1..101) %}{{ i }}{% endtablerow %}",
        "{% assign r = (1..101) %}{{ r | to_json }}",
    ):
        started = time.thread_time()
        assert "a range of " in error_of(template), template
        assert time.thread_time() - started < 0.5, template
    assert render_task("{% assign r = (1..100000000) %}{{ r }}", {}, limits=SMALL).html == "1..100000000"


def test_filters_spend_a_step_per_element_they_are_given() -> None:
    rows = {"rows": list(range(30))}
    assert render_task("{{ task.input.rows | sort | join: ',' | size }}", rows, limits=SMALL).html == "79"
    assert "more than 100 steps" in error_of("{% for i in (1..4) %}{{ task.input.rows | sort }}{% endfor %}", rows)
    # size, first, last and default look at no element
    result = render_task(
        "{% for i in (1..50) %}{{ task.input.rows | size }}{{ task.input.rows | last }}{% endfor %}", rows, limits=SMALL
    )
    assert result.errors == [] and result.html == "3029" * 50


def test_the_cpu_time_limit_ends_a_render_that_stays_within_its_steps() -> None:
    started = time.thread_time()
    message = error_of(
        "{% for i in (1..900000) %}{% assign x = i %}{% endfor %}", limits=RenderLimits(cpu_seconds=0.05)
    )
    assert "more than 0.05 s of CPU time" in message
    assert time.thread_time() - started < 0.5


def test_output_is_limited_in_size_and_the_partial_page_dropped() -> None:
    assert "more than 1,000 bytes of HTML" in error_of("{% for i in (1..90) %}0123456789{{ 'é' }}{% endfor %}")
    assert render_task("{% for i in (1..50) %}0123456789{% endfor %}", {}, limits=SMALL).errors == []


def test_values_that_would_be_too_long_are_refused_before_they_are_built() -> None:
    text = {"s": "x" * 600}
    assert "a value of more than 1,000 characters" in error_of("{{ task.input.s | replace: 'x', 'yy' }}", text)
    assert render_task("{{ task.input.s | replace: 'z', 'yy' | size }}", text, limits=SMALL).html == "600"
    assert "a value of more than 1,000" in error_of("{{ (1..90) | join: task.input.s }}", text)
    refs = "{% assign l = task.input.s | split: ',' %}{% assign l = l | concat: l %}{{ l }}"
    assert "a value of more than 1,000" in error_of(refs, text)  # two references print 1,200 characters
    assert "a value of more than 1,000" in error_of(
        "{% assign s = task.input.s %}{% for i in (1..3) %}{% assign s = s | append: s %}{% endfor %}", text
    )


def test_numbers_cannot_grow_without_bound() -> None:
    squares = "{% assign x = 3 %}{% for i in (1..40) %}{% assign x = x | times: x %}{% endfor %}{{ x }}"
    started = time.thread_time()
    assert "a number wider than 4,096 bits" in error_of(squares)
    assert time.thread_time() - started < 0.5


def test_errors_before_the_budget_ran_out_are_kept() -> None:
    result = render_task("{{ x | nope }}{% for i in (1..101) %}{% endfor %}after", {}, limits=SMALL)
    assert result.html == ""
    assert [e.code for e in result.errors] == ["UndefinedFilter", "ResourceLimitExceeded"]


def test_nested_loops_too_long_to_finish_fail_before_they_start() -> None:
    message = error_of(
        "{% for i in (1..2000) %}{% for j in (1..2000) %}x{% endfor %}{% endfor %}", limits=RenderLimits()
    )
    assert message.startswith("The template exceeded the render budget: nested loops of more than 1,000,000")
