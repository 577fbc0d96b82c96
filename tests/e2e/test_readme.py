"""The README's code blocks run as written against a fresh `crowdloop serve`, with the lines it printed as the
environment (as the README tells a new user to do): the Python snippet twice (a second run must work too),
then the worker commands. A block added to the README without being run here fails the inventory test."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3
import pytest

from crowdloop.config import SETTINGS
from tests.conftest import RunningServer, start_server, stop_server

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


def test_inventory_every_block_is_run_or_named() -> None:
    """Quickstart (bash: the two scripts, not run here: they are what CI runs), the printed lines (no
    language), the Python snippet and the worker commands: a new block must be added to a test below."""
    found = [lang for lang, _ in BLOCK.findall(README.read_text())]
    assert found == ["bash", "", "python", "bash"]
    assert blocks("bash")[0].split()[0] == "./scripts/serve"


@pytest.fixture
def fresh_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for setting in SETTINGS:  # the defaults, as on a new machine
        monkeypatch.delenv(setting.env, raising=False)
    data_dir = tmp_path / "crowdloop-data"  # where ./scripts/serve keeps it, relative to the checkout
    server = start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}")
    yield server
    stop_server(server)


def _use_printed_lines(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    printed = [line for line in blocks("")[0].splitlines() if line.startswith("export ")]
    names = [line.split()[1].split("=")[0] for line in printed]
    assert sorted(names) == sorted(server.exports), "the README's lines are not the ones serve prints"
    for name, value in server.exports.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_python_snippet_runs_twice(fresh_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_printed_lines(fresh_server, monkeypatch)
    (snippet,) = blocks("python")
    arns = []
    for _run in range(2):
        namespace: dict[str, Any] = {}
        out = io.StringIO()
        with redirect_stdout(out):
            exec(compile(snippet, "README.md", "exec"), namespace)
        arns.append(out.getvalue().strip())
        for client in ("sm", "a2i"):
            namespace[client].close()
    assert arns[0] != arns[1] and all(arn.startswith("arn:aws:sagemaker:us-east-1:") for arn in arns)

    sm = fresh_server.client("sagemaker")
    a2i = fresh_server.client("sagemaker-a2i-runtime")
    try:
        for arn in arns:
            loop = a2i.describe_human_loop(HumanLoopName=arn.rsplit("/", 1)[1])
            assert loop["HumanLoopStatus"] == "InProgress"
        rendered = sm.render_ui_template(
            UiTemplate={"Content": namespace["template"]},
            Task={"Input": json.dumps({"taskObject": namespace["item"]})},
            RoleArn="arn:aws:iam::123456789012:role/a2i",
        )
        assert rendered["Errors"] == []
        html = rendered["RenderedContent"]
        for i, response in enumerate(namespace["item"]["responses"], start=1):
            assert f'name="response_{i}_ranking"' in html
            assert response in html
        teams = sm.list_workteams()["Workteams"]
        assert [t["WorkteamName"] for t in teams] == ["raters"]
    finally:
        sm.close()
        a2i.close()


def test_worker_commands_run(fresh_server: RunningServer, tmp_path: Path) -> None:
    """The Workers section's commands, with `.venv/bin/crowdloop` as this interpreter's crowdloop, in the
    folder that holds ./crowdloop-data (the defaults: no setting given)."""
    (commands,) = [b for b in blocks("bash") if "workers add" in b]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDLOOP_")}
    outputs = []
    for line in commands.splitlines():
        words = shlex.split(line, comments=True)
        assert words[0] == ".venv/bin/crowdloop", line
        done = subprocess.run(
            [sys.executable, "-m", "crowdloop", *words[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert re.search(rf"^http://127\.0\.0\.1:{fresh_server.port}/invite/\S+$", outputs[1], re.M), outputs[1]
    listed = outputs[2]
    assert "ana@example.org" in listed and "bo@example.org" in listed and "raters" in listed
