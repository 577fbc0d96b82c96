"""docs/crowd-elements.md names every element the bundle defines and every answer-shape choice."""

from __future__ import annotations

import re
from pathlib import Path

from crowdloop.portal.assets import crowd_elements_script

DOC = Path(__file__).resolve().parents[2] / "docs" / "crowd-elements.md"


def test_every_element_and_choice_is_documented() -> None:
    script = crowd_elements_script().decode()
    elements = re.findall(r"CL\.define(?:Control)?\('([a-z-]+)'", script)
    block = script[script.index("CL.CHOICES = {") :]
    choices = re.findall(r"^    (\w+):", block[: block.index("};")], re.M)
    assert len(elements) >= 20 and len(choices) >= 10
    text = DOC.read_text()
    assert [e for e in elements if f"`{e}`" not in text] == []
    assert [c for c in choices if f"`{c}`" not in text] == []
