"""The worker UIs AWS ships as `HumanTaskUiArn`s (ground-truth-api.md §9.3), as Liquid templates of our crowd
elements. They are no CreateHumanTaskUi resources: a job naming one renders the template given here.

    builtin_ui_name(arn)        -> "NamedEntityRecognition" for arn:aws:sagemaker:<region>:394669845002:
                                   human-task-ui/NamedEntityRecognition, else None
    builtin_ui_template(name)   -> the template, or None for a UI we do not ship

Only `NamedEntityRecognition` is shipped; the video-frame and 3D point cloud UIs are not (None).

The NER template reads these keys of `task.input` (what the built-in NER pre-annotation step gives, from
the manifest line's `source` and the label file's `labels` and `instructions`, §5):

| key                | value                                                       | shown as                      |
|--------------------|-------------------------------------------------------------|-------------------------------|
| `taskObject`       | the text to annotate                                        | the element's `text`          |
| `labels`           | the label file's label objects (`label`, `shortDisplayName`) | the label choices             |
| `shortInstruction` | HTML                                                        | the instructions sidebar      |
| `fullInstruction`  | HTML                                                        | "View full instructions"      |
| `header` (optional)| text                                                        | the heading; when absent, the |
|                    |                                                             | short instruction as text     |

The instructions are written out as HTML (not escaped), as AWS shows them: they come from the job's creator,
who could as well give a template of their own, and the task frame is sandboxed either way. The header made
from the short instruction is its text: tags removed, character references kept as such (`escape_once`).

Like every AWS task UI, the template loads the crowd HTML elements itself (`<script
src="https://assets.crowd.aws/crowd-html-elements.js">`, which the portal points at its own bundle): the task
frame adds no script a template does not name, so without it the element would never be defined.

The answer is `{"crowd-entity-annotation": {"entities": [{"endOffset", "label", "startOffset"}, …]}}`: the
element stands at the top level with its own form and Submit button, as in every AWS NER sample
(docs/crowd-elements.md; inside a crowd-form it would answer the same).
"""

from __future__ import annotations

import re

__all__ = ["BUILTIN_UI_ACCOUNT", "BUILTIN_UI_NAMES", "builtin_ui_name", "builtin_ui_template"]

BUILTIN_UI_ACCOUNT = "394669845002"
BUILTIN_UI_NAMES = (
    "NamedEntityRecognition",
    "PointCloudObjectDetection",
    "PointCloudObjectTracking",
    "PointCloudSemanticSegmentation",
    "VideoObjectDetection",
    "VideoObjectTracking",
)
_ARN = re.compile(rf"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:{BUILTIN_UI_ACCOUNT}:human-task-ui/(?P<name>[A-Za-z]+)")

NAMED_ENTITY_RECOGNITION = """\
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
{% if task.input.header %}{% assign header = task.input.header %}\
{% else %}{% assign header = task.input.shortInstruction | strip_html | strip | escape_once %}{% endif %}\
<crowd-entity-annotation
  name="crowd-entity-annotation"
  header="{{ header }}"
  labels="{{ task.input.labels | to_json | escape }}"
  text="{{ task.input.taskObject | escape }}"
>
  <full-instructions header="Named entity recognition instructions">
    {{ task.input.fullInstruction | skip_autoescape }}
  </full-instructions>
  <short-instructions>
    {{ task.input.shortInstruction | skip_autoescape }}
  </short-instructions>
</crowd-entity-annotation>
"""

_TEMPLATES = {"NamedEntityRecognition": NAMED_ENTITY_RECOGNITION}


def builtin_ui_name(arn: str) -> str | None:
    """The UI's name when `arn` is one of AWS's built-in human task UIs (any region), else None."""
    match = _ARN.fullmatch(arn)
    return match["name"] if match and match["name"] in BUILTIN_UI_NAMES else None


def builtin_ui_template(name: str) -> str | None:
    """The Liquid template of the built-in UI `name` (e.g. "NamedEntityRecognition"), None if not shipped."""
    return _TEMPLATES.get(name)
