"""Invitation links and admin password resets: the domain calls, the invitation page and the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crowdloop import invites, workers
from crowdloop.cli import main
from crowdloop.clock import ManualClock
from crowdloop.config import load_settings
from crowdloop.errors import InUse, InvalidInput, NotFound
from crowdloop.model import WorkerStatus
from crowdloop.runtime import Services
from crowdloop.store.tables import invitations
from tests.portal.kit import PASSWORD, Browser, add_worker

OpenBrowser = Callable[[], Browser]
NEW = "a brand new secret"


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_invite_creates_an_invited_worker_with_a_link(services: Services) -> None:
    invitation = invites.invite_worker(services, "New@Example.org", groups=["raters", "b"], expires_hours=2)
    assert invitation.email == "new@example.org"
    assert invitation.url == f"http://127.0.0.1:8080/invite/{invitation.token}"
    assert (invitation.expires_at - services.clock.now()).total_seconds() == 7200
    worker = workers.get_worker(services, "new@example.org")
    assert worker.status is WorkerStatus.INVITED and worker.groups == ("b", "raters")
    assert invites.invitation_email(services, invitation.token) == "new@example.org"


def test_links_use_the_public_scheme_and_host(services: Services) -> None:
    public = dataclasses.replace(
        services, settings=dataclasses.replace(services.settings, public_scheme="https", public_host="work.example.org")
    )
    invitation = invites.invite_worker(public, "tls@example.org")
    assert invitation.url == f"https://work.example.org/invite/{invitation.token}"
    with pytest.raises(ValueError, match="CROWDLOOP_PUBLIC_SCHEME"):
        load_settings({"public_scheme": "ftp"}, env={})


def test_invitation_page_sets_the_password_and_signs_in(services: Services, open_browser: OpenBrowser) -> None:
    invitation = invites.invite_worker(services, "inv@example.org")
    browser = open_browser()
    assert browser.sign_in("inv@example.org", NEW).status_code == 401  # no password yet
    page = browser.get(_path(invitation.url))
    assert page.status_code == 200 and "inv@example.org" in page.text
    path = _path(invitation.url)
    assert browser.post(path, {"password": NEW, "confirm": NEW + "x"}).status_code == 400
    short = browser.post(path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "8 to 1024 characters" in short.text
    assert browser.post(path, {"password": NEW, "confirm": NEW}, csrf="forged").status_code == 403
    done = browser.post(path, {"password": NEW, "confirm": NEW})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert browser.get("/").status_code == 200
    assert workers.get_worker(services, "inv@example.org").status is WorkerStatus.ACTIVE
    assert open_browser().sign_in("inv@example.org", NEW).status_code == 303
    again = open_browser().get(path)  # used up
    assert again.status_code == 404 and "not valid" in again.text


def test_expired_and_replaced_links_do_not_work(services: Services, clock: ManualClock) -> None:
    first = invites.invite_worker(services, "late@example.org", expires_hours=1)
    second = invites.invite_worker(services, "late@example.org", groups=["extra"], expires_hours=1)
    with pytest.raises(NotFound):
        invites.accept_invitation(services, first.token, NEW)
    assert workers.get_worker(services, "late@example.org").groups == ("extra",)
    clock.advance(3601)
    with pytest.raises(NotFound):
        invites.accept_invitation(services, second.token, NEW)
    third = invites.invite_worker(services, "late@example.org")
    assert invites.accept_invitation(services, third.token, NEW).status is WorkerStatus.ACTIVE


def test_disabled_or_active_workers_are_not_invited(services: Services) -> None:
    invitation = invites.invite_worker(services, "off@example.org")
    workers.set_status(services, "off@example.org", WorkerStatus.DISABLED)
    with pytest.raises(NotFound):  # disabling also kills the open link
        invites.accept_invitation(services, invitation.token, NEW)
    with pytest.raises(InUse):
        invites.invite_worker(services, "off@example.org")
    add_worker(services, "on@example.org")
    with pytest.raises(InUse):
        invites.invite_worker(services, "on@example.org")
    with pytest.raises(InvalidInput):
        invites.invite_worker(services, "x@example.org", expires_hours=0)


def test_reset_password_replaces_it_and_ends_sessions(services: Services, open_browser: OpenBrowser) -> None:
    add_worker(services, "reset@example.org")
    browser = open_browser()
    assert browser.sign_in("reset@example.org").status_code == 303
    with pytest.raises(InvalidInput):
        invites.reset_password(services, "reset@example.org", "short")
    invites.reset_password(services, "reset@example.org", NEW)
    assert browser.get("/").status_code == 303  # signed out
    assert open_browser().sign_in("reset@example.org", PASSWORD).status_code == 401
    assert open_browser().sign_in("reset@example.org", NEW).status_code == 303
    invited = invites.invite_worker(services, "pending@example.org")
    assert invites.reset_password(services, "pending@example.org", NEW).status is WorkerStatus.ACTIVE
    with pytest.raises(NotFound):
        invites.accept_invitation(services, invited.token, NEW)
    with pytest.raises(NotFound):
        invites.reset_password(services, "ghost@example.org", NEW)


def test_cli_invite_and_reset_password(services: Services, tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    store = ["--data-dir", str(tmp_path), "--database-url", db_url]
    result = runner.invoke(
        main,
        [
            "workers",
            "invite",
            "cli@example.org",
            "--group",
            "g1",
            "--group",
            "g2",
            "--expires-hours",
            "5",
            "--public-host",
            "work.example.org",
            *store,
        ],
    )
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("http://work.example.org/invite/")
    token = url.rsplit("/", 1)[1]
    with services.store.read() as conn:  # the CLI ran on the system clock, the test on a manual one
        row = conn.execute(
            sa.select(invitations).where(invitations.c.token_sha256 == hashlib.sha256(token.encode()).hexdigest())
        ).one()
    assert (row.expires_at - row.created_at).total_seconds() == 5 * 3600
    assert workers.get_worker(services, "cli@example.org").groups == ("g1", "g2")
    result = runner.invoke(main, ["workers", "reset-password", "cli@example.org", "--password", NEW, *store])
    assert result.exit_code == 0, result.output
    assert "new password set for cli@example.org (active)" in result.output
    again = runner.invoke(main, ["workers", "invite", "cli@example.org", *store])
    assert again.exit_code != 0 and "reset-password" in again.output
    missing = runner.invoke(main, ["workers", "reset-password", "nobody@example.org", "--password", NEW, *store])
    assert missing.exit_code != 0 and "No worker" in missing.output


def test_oidc_workers_get_no_password_or_invitation(services: Services) -> None:
    worker = workers.link_oidc_worker(
        services, "https://idp.example", "sub-1", email="sso@example.org", groups=["raters"]
    )
    assert worker.signs_in_with_oidc and worker.issuer == "https://idp.example"
    with pytest.raises(InUse, match="OIDC provider"):
        invites.reset_password(services, "sso@example.org", NEW)
    with pytest.raises(InUse, match="OIDC provider"):
        invites.invite_worker(services, "sso@example.org")
    assert not add_worker(services, "local@example.org").signs_in_with_oidc
