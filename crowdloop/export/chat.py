"""Prompts as TRL's conversational format: a list of {"role", "content"} messages.

A prompt from inputContent is a text (one user message) or already a chat (crowdloop.export.model.Messages,
kept turn by turn: system, user and assistant messages of a chat log stay as they were given).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crowdloop.export.batches import Ints
from crowdloop.export.model import Prompt


def prompt_messages(prompt: Prompt) -> list[dict[str, str]]:
    """The prompt as a message list, for row dicts."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": role, "content": content} for role, content in prompt]


def prompt_column(pa: Any, prompts: list[Prompt], rows: Ints) -> Any:
    """An Arrow list<struct<role, content>> column: the message list of prompts[i] for each i in rows."""
    roles: list[str] = []
    contents: list[str] = []
    sizes = np.empty(len(prompts), dtype=np.int64)
    for position, prompt in enumerate(prompts):
        if isinstance(prompt, str):
            roles.append("user")
            contents.append(prompt)
            sizes[position] = 1
        else:
            for role, content in prompt:
                roles.append(role)
                contents.append(content)
            sizes[position] = len(prompt)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int32)
    messages = pa.StructArray.from_arrays(
        [pa.array(roles, type=pa.string()), pa.array(contents, type=pa.string())], names=["role", "content"]
    )
    return pa.ListArray.from_arrays(pa.array(offsets), messages).take(pa.array(rows))
