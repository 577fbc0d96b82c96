"""Prompts given as chat messages (and responses as assistant messages): kept turn by turn in TRL's
conversational format, refused with a clear error by the text-prompt datasets. Expected rows by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crowdloop.export.api import export, run
from crowdloop.export.commands import export as export_command
from tests.export.helpers import Loop, ranks, read_jsonl, write_outputs

CHAT = [
    {"role": "system", "content": "Answer in one sentence."},
    {"role": "user", "content": "Why is the sky blue?"},
    {"role": "assistant", "content": "Do you mean at noon?"},
    {"role": "user", "content": "Yes."},
]
LOOPS = [
    # Responses as assistant messages. w1: A > B > C; w2: B > A > C.
    Loop(
        "chat-1",
        CHAT,
        [
            {"role": "assistant", "content": "Rayleigh scattering."},
            {"role": "assistant", "content": "The sea."},
            {"role": "assistant", "content": "It is not."},
        ],
        [("w1", ranks("1", "2", "3")), ("w2", ranks("2", "1", "3"))],
    ),
    # A plain text prompt beside it: one user message. w1 prefers the second response.
    Loop("text-1", "Say hello.", ["Go away.", "Hello."], [("w1", ranks("2", "1"))]),
]


def message(role: str, content: str) -> list[dict[str, str]]:
    return [{"role": role, "content": content}]


def expected_conversational() -> list[dict[str, Any]]:
    sky, sea, no = "Rayleigh scattering.", "The sea.", "It is not."

    def row(
        item: str,
        prompt: list[dict[str, str]],
        chosen: str,
        rejected: str,
        margin: float,
        who: str,
        agreement: float | None,
    ) -> dict[str, Any]:
        return {
            "prompt": prompt,
            "chosen": message("assistant", chosen),
            "rejected": message("assistant", rejected),
            "margin": margin,
            "item_id": item,
            "annotator": who,
            "agreement": agreement,
            "worker_flagged": False,
        }

    return [
        row("chat-1", CHAT, sky, sea, 1.0, "w1", 0.5),
        row("chat-1", CHAT, sky, no, 2.0, "w1", 1.0),
        row("chat-1", CHAT, sea, no, 1.0, "w1", 1.0),
        row("chat-1", CHAT, sea, sky, 1.0, "w2", 0.5),
        row("chat-1", CHAT, sky, no, 1.0, "w2", 1.0),
        row("chat-1", CHAT, sea, no, 2.0, "w2", 1.0),
        row("text-1", message("user", "Say hello."), "Hello.", "Go away.", 1.0, "w1", None),
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_outputs(tmp_path / "a2i", LOOPS)
    return tmp_path / "a2i"


def test_conversational_preferences_keep_the_chat(folder: Path, tmp_path: Path) -> None:
    for suffix in ("jsonl", "parquet"):
        result = CliRunner().invoke(
            export_command,
            [
                "preferences",
                "--source",
                str(folder),
                "--conversational",
                "--output",
                str(tmp_path / f"p.{suffix}"),
                "--no-progress",
            ],
        )
        assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "p.jsonl") == expected_conversational()
    assert pq.read_table(tmp_path / "p.parquet").to_pylist() == expected_conversational()


def test_conversational_kto_keeps_the_chat(folder: Path, tmp_path: Path) -> None:
    result = export(run(str(folder), "kto", conversational=True), tmp_path / "k.jsonl", "jsonl")
    rows = read_jsonl(result.path)
    # w1 of chat-1: best A, worst C; w2: best B, worst C; text-1: best "Hello.", worst "Go away."
    assert [(r["item_id"], r["prompt"], r["completion"], r["label"]) for r in rows] == [
        ("chat-1", CHAT, message("assistant", "Rayleigh scattering."), True),
        ("chat-1", CHAT, message("assistant", "It is not."), False),
        ("chat-1", CHAT, message("assistant", "The sea."), True),
        ("chat-1", CHAT, message("assistant", "It is not."), False),
        ("text-1", message("user", "Say hello."), message("assistant", "Go away."), False),
        ("text-1", message("user", "Say hello."), message("assistant", "Hello."), True),
    ]


def test_text_prompt_datasets_refuse_a_chat_naming_the_option(folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        export_command, ["preferences", "--source", str(folder), "--output", str(tmp_path / "p.jsonl"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert "The prompt of chat-1 is a list of chat messages" in result.output
    assert "export with --conversational" in result.output
    result = CliRunner().invoke(
        export_command,
        [
            "rankings",
            "--source",
            str(folder),
            "--conversational",
            "--output",
            str(tmp_path / "r.jsonl"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 1 and "export preferences or kto with --conversational" in result.output


def test_responses_as_assistant_messages_in_the_standard_style(tmp_path: Path) -> None:
    loops = [
        Loop(
            "m-1",
            "Say hello.",
            [{"role": "assistant", "content": "Go away."}, {"role": "assistant", "content": "Hello."}],
            [("w1", ranks("2", "1"))],
        )
    ]
    write_outputs(tmp_path / "a2i", loops)
    rows = list(run(str(tmp_path / "a2i")).rows())
    assert rows == [
        {
            "prompt": "Say hello.",
            "chosen": "Hello.",
            "rejected": "Go away.",
            "margin": 1.0,
            "item_id": "m-1",
            "annotator": "w1",
            "agreement": None,
            "worker_flagged": False,
        }
    ]


@pytest.mark.parametrize(
    ("prompt", "detail"),
    [
        ([], "is neither a string nor a list of chat messages"),
        ([{"role": "user"}], "is neither a string nor a list of chat messages"),
        ([{"role": "", "content": "Hi"}], "is neither a string nor a list of chat messages"),
        ([{"role": "user", "content": "Hi"}, "and then?"], "is neither a string nor a list of chat messages"),
        (7, "is neither a string nor a list of chat messages"),
    ],
)
def test_a_prompt_that_is_no_chat_is_reported(tmp_path: Path, prompt: Any, detail: str) -> None:
    loops = [Loop("bad-1", prompt, ["a", "b"], [("w1", ranks("1", "2"))]), *LOOPS]
    write_outputs(tmp_path / "a2i", loops)
    job = run(str(tmp_path / "a2i"), conversational=True)
    assert {r["item_id"] for r in job.rows()} == {"chat-1", "text-1"}
    problems = job.card()["problems"]
    assert problems["loops_dropped"] == 1
    [entry] = problems["by_reason"]
    assert entry["reason"] == "prompt missing" and entry["examples"][0]["item_id"] == "bad-1"
    assert (
        entry["examples"][0]["detail"] == f"inputContent.taskObject.prompt {detail} (objects with a string role "
        "and content)"
    )
