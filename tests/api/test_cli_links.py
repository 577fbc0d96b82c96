"""Links the CLI prints (`workers invite`, `workers reset-password`) use the address the last `crowdloop
serve` on the store announced, unless the command is given one; with no server ever run, they say so."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crowdloop.announce import announced_portal_url
from crowdloop.cli import main
from crowdloop.config import SETTINGS
from crowdloop.runtime import Services
from tests.conftest import RunningServer

GUESS = "No `crowdloop serve` has run on this store yet"


@pytest.fixture(autouse=True)
def _no_crowdloop_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:  # the settings' variables only (not the tests' own, e.g. a PostgreSQL URL)
        monkeypatch.delenv(setting.env, raising=False)


def _cli(store: list[str], *args: str) -> Result:
    result = CliRunner().invoke(main, [*args, *store])
    assert result.exit_code == 0, result.output
    return result


def _server_store(server: RunningServer) -> list[str]:
    return ["--data-dir", str(server.data_dir), "--database-url", server.database_url]


def test_invite_after_serve_prints_the_port_serve_announced(server: RunningServer) -> None:
    assert server.port != 8080
    invited = _cli(_server_store(server), "workers", "invite", "announced@example.org")
    link = invited.stdout.strip()
    assert link.startswith(f"http://127.0.0.1:{server.port}/invite/")
    assert GUESS not in invited.stderr
    with urllib.request.urlopen(link, timeout=10) as page:  # the link works: the server answers it
        assert page.status == 200 and b"password" in page.read().lower()
    reset = _cli(_server_store(server), "workers", "reset-password", "announced@example.org", "--password", "x" * 12)
    assert reset.stdout.splitlines()[-1] == f"they sign in at http://127.0.0.1:{server.port}/"


def test_an_address_given_to_the_command_wins(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    flagged = _cli(_server_store(server), "workers", "invite", "flagged@example.org", "--public-host", "w.example")
    assert flagged.stdout.startswith("http://w.example/invite/")
    monkeypatch.setenv("CROWDLOOP_PUBLIC_SCHEME", "https")
    from_env = _cli(_server_store(server), "workers", "invite", "from-env@example.org")
    assert from_env.stdout.startswith("https://127.0.0.1:8080/invite/")  # the settings, as given: no guess note
    assert GUESS not in from_env.stderr


def test_without_a_server_the_link_is_the_settings_and_says_so(services: Services, tmp_path: Path) -> None:
    assert announced_portal_url(services.store) is None
    store = ["--data-dir", str(tmp_path), "--database-url", services.settings.resolved_database_url]
    invited = _cli(store, "workers", "invite", "early@example.org")
    assert invited.stdout.startswith("http://127.0.0.1:8080/invite/")
    assert invited.stderr.startswith(f"{GUESS}, so the link uses the address in the settings (http://127.0.0.1:8080)")
    reset = _cli(store, "workers", "reset-password", "early@example.org", "--password", "x" * 12)
    assert reset.stdout.splitlines()[-1] == "they sign in at http://127.0.0.1:8080/"
    assert GUESS in reset.stderr
