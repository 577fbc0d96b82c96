"""Every setting and every CLI command must be documented (docs/settings.md, docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import click

from crowdloop.cli import main
from crowdloop.config import SETTINGS

DOCS = Path(__file__).resolve().parents[2] / "docs"


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
