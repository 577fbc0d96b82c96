"""The default worker templates of crowdloop.Client, one per kind of task, built from the crowd HTML elements.

Each reads the loop's input as the client writes it, `{"taskObject": item}`, and answers in a shape the
export reads without a mapping file (docs/export.md, "What is read from a loop"):

* rank: `crowd-text-ranking` (`prompt`, `responses`), one rank per response and dimension;
* rate: one `crowd-slider` per response, `response_{i}_rating` (the `rating-fields` convention);
* compare: `crowd-classifier` with "A is better" / "B is better" / "Tie" (the `pairwise-choice` convention);
* label: `crowd-classifier` over the item's `text` with the given labels (the `label` convention).

The instructions are the requester's text, escaped here once; everything from the input goes through Liquid,
which escapes it at render time. Only standard Liquid and the `to_json` filter are used, so the templates
also render in Amazon A2I."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'
STYLE = """<style>
  .crowdloop-prompt { font-size: 1.05rem; margin: 0 0 1rem; white-space: pre-wrap; }
  .crowdloop-response { border: 1px solid #d5dbdb; border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; }
  .crowdloop-response p { margin: 0 0 .5rem; white-space: pre-wrap; }
</style>
"""
PAIR_CHOICES = ("A is better", "B is better", "Tie")


def _attribute(value: object) -> str:
    """A JSON value for a single-quoted HTML attribute."""
    return html.escape(json.dumps(value, ensure_ascii=False), quote=True)


def _instructions(text: str) -> str:
    shown = html.escape(text) if text else ""
    return f"<short-instructions><p>{shown}</p></short-instructions>\n" if shown else ""


def rank(instructions: str, dimensions: Sequence[str], allow_ties: bool) -> str:
    chosen = [{"name": name, "allowTie": allow_ties} for name in dimensions]
    return (
        SCRIPT
        + "<crowd-form>\n"
        + '  <crowd-text-ranking name="ranking"\n'
        + "    text='{{ task.input.taskObject.prompt }}'\n"
        + "    responses='{{ task.input.taskObject.responses | to_json }}'\n"
        + f"    ordinal-ranking-dimensions='{_attribute(chosen)}'>\n"
        + "    "
        + _instructions(instructions or "Rank the responses: 1 is the best.")
        + "  </crowd-text-ranking>\n"
        + "</crowd-form>\n"
    )


def rate(instructions: str, low: int, high: int) -> str:
    return (
        SCRIPT
        + STYLE
        + "<crowd-form>\n"
        + f"  <p>{html.escape(instructions or f'Rate each response from {low} (worst) to {high} (best).')}</p>\n"
        + '  <p class="crowdloop-prompt"><strong>{{ task.input.taskObject.prompt }}</strong></p>\n'
        + "  {% for response in task.input.taskObject.responses %}\n"
        + '  <div class="crowdloop-response">\n'
        + "    <p>{{ response }}</p>\n"
        + f'    <crowd-slider name="response_{{{{ forloop.index }}}}_rating" min="{low}" max="{high}" step="1"'
        + ' pin editable required aria-label="Rating of response {{ forloop.index }}"></crowd-slider>\n'
        + "  </div>\n"
        + "  {% endfor %}\n"
        + "</crowd-form>\n"
    )


def compare(instructions: str) -> str:
    return (
        SCRIPT
        + STYLE
        + "<crowd-form>\n"
        + f"  <crowd-classifier name=\"choice\" categories='{_attribute(list(PAIR_CHOICES))}'"
        + ' header="Which response is better?">\n'
        + "    <classification-target>\n"
        + '      <p class="crowdloop-prompt"><strong>{{ task.input.taskObject.prompt }}</strong></p>\n'
        + '      <div class="crowdloop-response"><p><strong>A</strong></p>'
        + "<p>{{ task.input.taskObject.responses[0] }}</p></div>\n"
        + '      <div class="crowdloop-response"><p><strong>B</strong></p>'
        + "<p>{{ task.input.taskObject.responses[1] }}</p></div>\n"
        + "    </classification-target>\n"
        + "    "
        + _instructions(instructions or "Read both responses and choose the better one, or Tie.")
        + "  </crowd-classifier>\n"
        + "</crowd-form>\n"
    )


def label(instructions: str, labels: Sequence[str]) -> str:
    return (
        SCRIPT
        + STYLE
        + "<crowd-form>\n"
        + f"  <crowd-classifier name=\"label\" categories='{_attribute(list(labels))}'"
        + ' header="Choose the label that fits">\n'
        + '    <classification-target><p class="crowdloop-prompt">{{ task.input.taskObject.text }}</p>'
        + "</classification-target>\n"
        + "    "
        + _instructions(instructions or "Choose the label that fits the text.")
        + "  </crowd-classifier>\n"
        + "</crowd-form>\n"
    )
