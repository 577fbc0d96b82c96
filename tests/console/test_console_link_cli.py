"""The one-time console links the command line prints: `serve`'s `console: URL` line and
`crowdloop console-link`, each redeemed once through the real root app (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from crowdloop import cli
from crowdloop.announce import announce_portal_url
from crowdloop.keys import AccessKey
from crowdloop.runtime import Services
from tests.console.kit import ConsoleBrowser

Open = Callable[[], ConsoleBrowser]


def _redeem(browser: ConsoleBrowser, url: str) -> int:
    path = url.split("://", 1)[1].split("/", 1)[1]
    token = re.search(r"token=([\w-]+)$", path)
    assert token, url
    browser.get("/" + path)
    return browser.post("/console/link", {"token": token.group(1)}).status_code


def test_serve_prints_a_console_link(
    services: Services, open_console: Open, capsys: pytest.CaptureFixture[str]
) -> None:
    cli._print_welcome(services.settings, services)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("console: ")]
    assert len(lines) == 1
    url = lines[0].removeprefix("console: ")
    assert url.startswith(services.settings.portal_url + "/console/link?token=")
    browser = open_console()
    assert _redeem(browser, url) == 303
    assert browser.get("/console").status_code == 200
    assert _redeem(open_console(), url) == 410  # once only


def test_console_link_prints_a_new_link(services: Services, admin_key: AccessKey, open_console: Open) -> None:
    announce_portal_url(services.store, services.clock, "http://console.test")
    options = ["--data-dir", services.settings.data_dir, "--database-url", services.settings.resolved_database_url]
    result = CliRunner().invoke(cli.main, ["console-link", *options])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("http://console.test/console/link?token=")
    browser = open_console()
    assert _redeem(browser, url) == 303
    page = browser.get("/console")
    assert page.status_code == 200 and admin_key.access_key_id in page.text
    unknown = CliRunner().invoke(cli.main, ["console-link", "--key", "AKCLNOSUCH", *options])
    assert unknown.exit_code == 1 and "No access key AKCLNOSUCH" in unknown.output
