"""Every setting and every CLI command must be documented (docs/settings.md, docs/cli.md); the reference
deployment's files (deploy/) name only documented settings, and docs/deployment.md lists every server key file."""

from __future__ import annotations

import re
from pathlib import Path

import click

import crowdloop
from crowdloop.cli import main
from crowdloop.config import SETTINGS

DOCS = Path(__file__).resolve().parents[2] / "docs"
DEPLOY = DOCS.parent / "deploy"


def _commands(group: click.Group, prefix: str) -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in text or f"`{s.name}`" not in text]
    assert missing == []


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(main, "crowdloop")
    assert "crowdloop serve" in commands and "crowdloop workers add" in commands
    missing = [c for c in commands if f"`{c}" not in text]
    assert missing == []


def test_the_deploy_files_name_only_documented_settings() -> None:
    settings_doc = (DOCS / "settings.md").read_text()
    known = {s.env for s in SETTINGS}
    files = [DEPLOY / "env.example", *sorted((DEPLOY / "systemd").glob("*.service"))]
    named = {name for path in files for name in re.findall(r"\bCROWDLOOP_[A-Z0-9_]+", path.read_text())}
    assert "CROWDLOOP_DATABASE_URL" in named
    assert sorted(named - known) == [] and [n for n in named if f"`{n}`" not in settings_doc] == []


def test_the_deployment_page_names_every_server_key_file() -> None:
    """docs/deployment.md "Server keys on several machines" makes every <data_dir>/keys file crowdloop uses."""
    sources = Path(crowdloop.__file__).parent.rglob("*.py")
    used = {name for path in sources for name in re.findall(r'"([a-z-]+\.key)"', path.read_text())}
    loop = re.search(r"for name in ([a-z. -]+); do", (DOCS / "deployment.md").read_text())
    assert loop and used and set(loop.group(1).split()) == used
