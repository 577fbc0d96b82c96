"""NextTokens are signed with the data directory's paging key: they survive a restart (a new Services over
the same data directory) and mean nothing to a server with another key (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses

import pytest

from crowdloop import flows
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Caller, Services
from crowdloop.store import Store

CALLER = Caller("123456789012", "us-east-1")


def _three_uis(svc: Services) -> None:
    for n in range(3):
        flows.create_human_task_ui(svc, CALLER, f"ui-{n}", "<p>{{ task.input.x }}</p>")


def test_tokens_survive_a_restart_and_are_refused_under_another_key(settings: Settings, store: Store) -> None:
    first = build_services(settings, store=store)
    _three_uis(first)
    page = flows.list_human_task_uis(first, CALLER, max_results=2)
    assert page.next_token is not None
    restarted = build_services(settings, store=store)
    assert restarted.paging_key == first.paging_key
    rest = flows.list_human_task_uis(restarted, CALLER, max_results=2, next_token=page.next_token)
    assert [ui.name for ui in page.items + rest.items] == ["ui-2", "ui-1", "ui-0"]
    stranger = dataclasses.replace(first, paging_key=b"k" * 32)
    with pytest.raises(InvalidInput, match="Invalid NextToken") as caught:
        flows.list_human_task_uis(stranger, CALLER, max_results=2, next_token=page.next_token)
    assert caught.value.field == "nextToken"


def test_paging_key_file_is_private(settings: Settings, store: Store) -> None:
    build_services(settings, store=store)
    key_file = settings.data_path / "keys" / "paging.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
