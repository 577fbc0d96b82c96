"""The `crowdloop` command line: parse arguments, then call a service. No business logic here."""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crowdloop import __version__
from crowdloop.config import SERVER_SETTINGS, SETTINGS, Settings, load_settings, set_in_environment

if TYPE_CHECKING:
    from crowdloop.keys import AccessKey
    from crowdloop.model import Worker

_STORE_SETTINGS = ("data_dir", "database_url")
_CALLER_SETTINGS = (*_STORE_SETTINGS, "account_id", "region")


def _setting_options(names: tuple[str, ...] | None = None) -> Callable[[Any], Any]:
    """Add one --flag per setting (all of them for `serve`); the help text comes from config.SETTINGS."""

    def decorate(command: Any) -> Any:
        for setting in reversed(SETTINGS):
            if names is not None and setting.name not in names:
                continue
            flag = "--" + setting.name.replace("_", "-")
            command = click.option(
                flag,
                setting.name,
                type=setting.flag_type,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {setting.default!r}]",
            )(command)
        return command

    return decorate


def _settings(options: dict[str, Any]) -> Settings:
    try:
        return load_settings(options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crowdloop")
def main() -> None:
    """crowdloop: self-hosted human review with the Amazon A2I / SageMaker API.

    Start the service with `crowdloop serve`; on first start it prints the `export` lines that point boto3
    at it (`crowdloop keys show` prints them again).
    Every option can also be set with a CROWDLOOP_* environment variable (see docs/settings.md).
    """


@main.command()
@_setting_options(SERVER_SETTINGS)
def serve(**options: Any) -> None:
    """Run the API server (SageMaker, A2I runtime, S3 output, STS) and the worker portal on one port.

    On first start it creates the database, an admin access key and a demo worker in DATA_DIR, and
    prints the shell lines to paste so boto3 talks to this server (the only time it prints the secret;
    `crowdloop keys show` prints them again). It refuses to start on a store holding another account's
    keys or resources: crowdloop serves the one account `--account-id`. `--workers N` runs N server
    processes on the port (PostgreSQL only). SIGTERM or Ctrl-C stop it gracefully (exit status 0).
    """
    from crowdloop import logs, server
    from crowdloop.app import build_services, create_app

    settings = _settings(options)
    logs.configure(settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    if settings.workers > 1 and not settings.uses_postgresql:
        raise click.UsageError(
            f"--workers {settings.workers} needs PostgreSQL (--database-url postgresql+psycopg://...): SQLite "
            "writes one transaction at a time, so more processes than one add no throughput. Use --workers 1."
        )
    settings.data_path.mkdir(parents=True, exist_ok=True, mode=0o700)  # it holds keys and secrets
    _refuse_other_accounts(settings)
    launch = server.Launch(settings, _tls_files(settings))
    if settings.workers > 1:
        services = build_services(settings)  # the parent only announces and welcomes; its children serve
        try:
            _announce(settings, services)
            _print_welcome(settings, services)
        finally:
            services.store.dispose()
        _warn_if_unauthenticated(settings)
        try:
            processes = server.ServerProcesses(launch, settings.workers)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
        sys.exit(processes.run())
    app = create_app(settings, delivery="process" if settings.event_delivery == "process" else "threads")
    _announce(settings, app.services)
    _print_welcome(settings, app.services)
    _warn_if_unauthenticated(settings)
    server.run_one(app, launch)


def _warn_if_unauthenticated(settings: Settings) -> None:
    if settings.auth == "off":
        logging.getLogger("crowdloop").warning(
            "API AUTHENTICATION IS OFF (auth=off): anyone who can reach %s can use the API. "
            "Use this only for local experiments. Requests must name this server in their Host header "
            "(host:port, localhost, 127.0.0.1 or public_host) and come from no other web page.",
            settings.endpoint_url,
        )


def _tls_files(settings: Settings) -> Any:
    """The certificate and key to serve HTTPS with (made first with --tls self-signed), or None."""
    from crowdloop import tls

    try:
        found = tls.files_for(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if found is not None and found.self_signed:
        click.echo(
            f"HTTPS with a self-signed certificate: {found.cert} (browsers warn until it is trusted; boto3 "
            "trusts it through AWS_CA_BUNDLE below)"
        )
    return found


def _refuse_other_accounts(settings: Settings) -> None:
    from crowdloop.accounts import single_account_problem
    from crowdloop.store import open_store

    store = _run(lambda: open_store(settings.resolved_database_url))
    try:
        problem = single_account_problem(store, settings.account_id)
    finally:
        store.dispose()
    if problem:
        raise click.ClickException(problem)


def _announce(settings: Settings, services: Any) -> None:
    """Tell later CLI commands on this store where this server's portal is (for the links they print)."""
    from crowdloop.announce import announce_portal_url
    from crowdloop.clock import SystemClock

    announce_portal_url(services.store, SystemClock(), settings.portal_url)


def _print_welcome(settings: Settings, services: Any) -> None:
    from crowdloop.clock import SystemClock
    from crowdloop.keys import ensure_admin_key

    key, created = ensure_admin_key(services.store, SystemClock(), settings.account_id)
    click.echo(f"crowdloop {__version__} serving on {settings.endpoint_url}  (data: {settings.data_path})")
    click.echo(f"Worker portal: {settings.portal_url}/")
    click.echo(f"console: {_console_url(services, key.access_key_id)}")
    demo = _ensure_demo_worker(settings, services)
    if demo:
        email, password, file = demo
        shown = f"password: {password}" if password else f"password in {file}"
        click.echo(f"Demo worker (group 'demo'): {email}  {shown}")
    if created:
        click.echo(
            "Paste these lines into your shell to point boto3 / the AWS CLI at crowdloop (the secret is "
            f"printed only now; `{_keys_show_command(settings)}` prints them again):"
        )
        for line in _export_lines(settings, key):
            click.echo(line)
    else:
        click.echo(
            f"API access key: {key.access_key_id} (account {key.account_id}); "
            f"`{_keys_show_command(settings)}` prints its export lines."
        )
    sys.stdout.flush()


def _export_lines(settings: Settings, key: AccessKey) -> list[str]:
    """The shell lines that point boto3 / the AWS CLI at this server with `key`."""
    endpoint = settings.endpoint_url
    exports = {
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_ENDPOINT_URL_SAGEMAKER": endpoint,
        "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME": endpoint,
        "AWS_ENDPOINT_URL_STS": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
    }
    if settings.tls == "self-signed":  # boto3 and the AWS CLI trust the kept certificate
        from crowdloop.tls import FOLDER

        exports["AWS_CA_BUNDLE"] = shlex.quote(str((settings.data_path / FOLDER / "cert.pem").resolve()))
    return [f"export {name}={value}" for name, value in exports.items()]


_SHOW_SETTINGS = (*_STORE_SETTINGS, "host", "port", "region", "account_id", "tls", "tls_cert", "tls_key")


def _keys_show_command(settings: Settings) -> str:
    """`crowdloop keys show` with the flags that make it print what this server needs (no secrets)."""
    defaults = Settings()
    parts = ["crowdloop keys show", "--data-dir", shlex.quote(str(settings.data_path))]
    for name in ("host", "port", "region", "account_id"):
        value = getattr(settings, name)
        if value != getattr(defaults, name):
            parts += [f"--{name.replace('_', '-')}", shlex.quote(str(value))]
    if settings.tls:
        parts += ["--tls", settings.tls]
    elif settings.tls_cert:
        parts += ["--tls-cert", shlex.quote(settings.tls_cert), "--tls-key", shlex.quote(settings.tls_key)]
    if settings.database_url:
        parts.append("--database-url ...")
    return " ".join(parts)


def _ensure_demo_worker(settings: Settings, services: Any) -> tuple[str, str, Path] | None:
    """Create the demo worker on first start; its password is kept in DATA_DIR/demo-worker.txt (0600).

    The password is returned (to print) only when it was just made; later starts name the file.
    """
    from crowdloop import workers
    from crowdloop.errors import NotFound

    email = "demo@crowdloop.local"
    remembered = settings.data_path / "demo-worker.txt"
    try:
        workers.get_worker(services, email)
    except NotFound:
        password = secrets.token_urlsafe(9)
        workers.add_worker(services, email, password_hash=services.passwords.hash(password), groups=["demo"])
        descriptor = os.open(remembered, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(f"{email} {password}\n")
        return email, password, remembered
    if remembered.exists():
        return email, "", remembered
    return None


def _services(options: dict[str, Any], *, links: bool = False) -> Any:
    """Services on the existing store the options name (StoreNotReady, one line, when there is none or it
    is not migrated: only `serve` and `db upgrade` create or migrate). links: with the portal address the
    last `serve` announced, for commands that print links (a note goes to stderr when none ever ran)."""
    from crowdloop.app import build_services
    from crowdloop.store import open_existing_store

    settings = _settings(options)
    store = _run(lambda: open_existing_store(settings.resolved_database_url))
    click.get_current_context().call_on_close(store.dispose)
    if links:
        from crowdloop.announce import settings_for_links

        settings, note = settings_for_links(settings, store, address_given=_address_given(options))
        if note:
            click.echo(note, err=True)
    return build_services(settings, store=store)


_ADDRESS_SETTINGS = ("host", "port", "public_host", "public_scheme")


def _address_given(options: dict[str, Any]) -> bool:
    """Whether the command was given the portal's address (a flag or a CROWDLOOP_* variable)."""
    given = any(options.get(name) is not None for name in _ADDRESS_SETTINGS)
    return given or set_in_environment(_ADDRESS_SETTINGS)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@_setting_options(_STORE_SETTINGS)
def db_upgrade(**options: Any) -> None:
    """Create the store, or apply every pending schema migration to it (serve does this on start too)."""
    import sqlalchemy as sa

    from crowdloop.store import open_store
    from crowdloop.store.schema import describe, unreachable

    settings = _settings(options)
    url = settings.resolved_database_url
    try:
        _run(lambda: open_store(url)).dispose()
    except (sa.exc.DBAPIError, sa.exc.ArgumentError) as exc:
        raise click.ClickException(unreachable(describe(url), exc).message) from exc
    click.echo(f"database at {describe(url)} is up to date")


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@_setting_options(_STORE_SETTINGS)
def backup(target: Path, **options: Any) -> None:
    """Copy the SQLite store to TARGET, consistent even while `crowdloop serve` runs (SQLite's online backup
    API; the server keeps working). TARGET must not exist. Works on a store of any schema revision (back up
    before `crowdloop db upgrade`). Restore: stop the server, put the copy in place of DATA_DIR/crowdloop.db.
    PostgreSQL stores: use pg_dump (docs/deployment.md)."""
    from crowdloop import backup as backups

    url = _settings(options).resolved_database_url
    _run(lambda: backups.check(url, target))  # refusals before the progress bar
    with click.progressbar(length=1, label="backing up", file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        size = _run(lambda: backups.sqlite_backup(url, target, advance))
    click.echo(f"backup written: {target} ({size:,} bytes)")


@main.group()
def keys() -> None:
    """API access keys (what boto3 signs requests with)."""


@keys.command("list")
@_setting_options(_STORE_SETTINGS)
def keys_list(**options: Any) -> None:
    """List access key ids and their account."""
    from crowdloop.keys import list_keys

    for key in list_keys(_services(options).store):
        click.echo(f"{key.access_key_id}\t{key.account_id}")


@keys.command("create")
@_setting_options((*_STORE_SETTINGS, "account_id"))
def keys_create(**options: Any) -> None:
    """Create another access key of the server's account and print its export lines."""
    from crowdloop.accounts import single_account_problem
    from crowdloop.clock import SystemClock
    from crowdloop.keys import create_key

    settings = _settings(options)
    store = _services(options).store
    problem = single_account_problem(store, settings.account_id)
    if problem:
        raise click.ClickException(problem)
    key = _run(lambda: create_key(store, SystemClock(), settings.account_id))
    click.echo(f"export AWS_ACCESS_KEY_ID={key.access_key_id}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={key.secret_access_key}")


@keys.command("show")
@click.argument("access_key_id", required=False)
@_setting_options(_SHOW_SETTINGS)
def keys_show(access_key_id: str | None, **options: Any) -> None:
    """Print the export lines (secret included) of a key: by default the admin key `serve` created."""
    from crowdloop.keys import admin_key, get_key

    settings = _settings(options)
    store = _services(options).store
    key = get_key(store, access_key_id) if access_key_id else admin_key(store, settings.account_id)
    if key is None:
        raise click.ClickException(
            f"No access key {access_key_id}."
            if access_key_id
            else f"No access key of account {settings.account_id} yet: `crowdloop serve` "
            "creates one on first start, `crowdloop keys create` another."
        )
    for line in _export_lines(settings, key):
        click.echo(line)


@keys.command("revoke")
@click.argument("access_key_id")
@_setting_options(_STORE_SETTINGS)
def keys_revoke(access_key_id: str, **options: Any) -> None:
    """Revoke an access key: it is deleted with the console sessions signed in with it, and running servers
    refuse it within 5 seconds."""
    from crowdloop.keys import KEY_CACHE_SECONDS, delete_key

    if not delete_key(_services(options).store, access_key_id):
        raise click.ClickException(f"No access key {access_key_id}.")
    click.echo(f"revoked {access_key_id}; running servers refuse it within {KEY_CACHE_SECONDS:g} seconds")


keys.add_command(click.Command("delete", params=keys_revoke.params, callback=keys_revoke.callback, hidden=True))


@main.command("console-link")
@click.option("--key", "access_key_id", default=None, help="The access key to sign in with [default: the admin key].")
@_setting_options((*_STORE_SETTINGS, *_ADDRESS_SETTINGS, "account_id"))
def console_link(access_key_id: str | None, **options: Any) -> None:
    """Print a one-time sign-in link to the requester console (valid 24 hours, works once).

    The link's address is the one the last `crowdloop serve` on this store announced, unless one is given
    here (--public-host, --public-scheme, --host, --port or their CROWDLOOP_* variables)."""
    from crowdloop.keys import admin_key, get_key

    services = _services(options, links=True)
    key = (
        get_key(services.store, access_key_id)
        if access_key_id
        else admin_key(services.store, services.settings.account_id)
    )
    if key is None:
        raise click.ClickException(
            f"No access key {access_key_id}." if access_key_id else "No access key yet: run `crowdloop serve` first."
        )
    click.echo(_console_url(services, key.access_key_id))


def _console_url(services: Any, access_key_id: str) -> str:
    from crowdloop.consoleauth import create_link
    from crowdloop.urls import PublicUrls

    return PublicUrls.of(services.settings).console_link(create_link(services, access_key_id))


@main.group()
def workers() -> None:
    """Workers of the private workforce and their groups (work teams select workers by group)."""


@workers.command("add")
@click.argument("email")
@click.option("--password", required=True, help="Initial password for portal sign-in.")
@click.option("--group", "groups", multiple=True, help="Group to join (repeatable).")
@_setting_options(_STORE_SETTINGS)
def workers_add(email: str, password: str, groups: tuple[str, ...], **options: Any) -> None:
    """Create an active worker in the default private workforce."""
    from crowdloop import workers as worker_service

    def add() -> Worker:
        services = _services(options)
        return worker_service.add_worker(
            services, email, password_hash=services.passwords.hash(password), groups=groups
        )

    worker = _run(add)
    click.echo(f"added {worker.email} (worker id {worker.worker_id}; groups: {', '.join(worker.groups) or '-'})")


@workers.command("invite")
@click.argument("email")
@click.option("--group", "groups", multiple=True, help="Group to join (repeatable).")
@click.option(
    "--expires-hours", type=float, default=72.0, show_default=True, help="How long the invitation link works."
)
@_setting_options((*_STORE_SETTINGS, *_ADDRESS_SETTINGS))
def workers_invite(email: str, groups: tuple[str, ...], expires_hours: float, **options: Any) -> None:
    """Invite a worker: print a one-time link where they choose their password.

    The link's address is the one the last `crowdloop serve` on this store announced, unless one is given
    here (--public-host, --public-scheme, --host, --port or their CROWDLOOP_* variables)."""
    from crowdloop import invites

    services = _services(options, links=True)
    invitation = _run(lambda: invites.invite_worker(services, email, groups=groups, expires_hours=expires_hours))
    click.echo(invitation.url)
    click.echo(f"(for {invitation.email}; works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC)", err=True)


@workers.command("reset-password")
@click.argument("email")
@click.option("--password", required=True, help="The worker's new password.")
@_setting_options((*_STORE_SETTINGS, *_ADDRESS_SETTINGS))
def workers_reset_password(email: str, password: str, **options: Any) -> None:
    """Set a worker's password (an invited worker becomes active) and end their portal sessions; print the
    sign-in page's address (as for `workers invite`)."""
    from crowdloop import invites

    services = _services(options, links=True)
    worker = _run(lambda: invites.reset_password(services, email, password))
    click.echo(f"new password set for {worker.email} ({worker.status.value}); their sessions ended")
    click.echo(f"they sign in at {services.settings.portal_url}/")


@workers.command("list")
@click.option("--group", default=None, help="Only members of this group.")
@_setting_options(_STORE_SETTINGS)
def workers_list(group: str | None, **options: Any) -> None:
    """List workers: email, status, worker id, groups."""
    from crowdloop import workers as worker_service

    for worker in worker_service.list_workers(_services(options), group):
        click.echo(f"{worker.email}\t{worker.status.value}\t{worker.worker_id}\t{','.join(worker.groups)}")


@workers.command("quality")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name (or ARN).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per worker and line.")
@click.option("--include-stopped", is_flag=True, help="Also read Stopped loops that have answers.")
@_setting_options(_STORE_SETTINGS)
def workers_quality(flow_name: str, as_json: bool, include_stopped: bool, **options: Any) -> None:
    """One line per worker of a flow definition, lowest agreement first: worker id, email, answers, median
    seconds, share faster than crowdloop:min-seconds, agreement with the others (leave one out), position bias
    (share of "shown first preferred"), gold accuracy (mean score of their gold answers; "paused" when paused
    for the flow). Reads the answers as `crowdloop report` does (extra `export`)."""
    import json

    from crowdloop.export.deps import require

    _run(lambda: [require(module) for module in ("numpy", "scipy")])
    from crowdloop.export.scores import worker_scores

    services = _services(options)
    found = _run(lambda: worker_scores(services.store, flow_name, include_stopped=include_stopped))
    if not found.workers:
        click.echo(f"no answers in {found.flow}'s loops", err=True)
    if not as_json:
        threshold = f"{found.min_seconds:g} s" if found.min_seconds else "not set"
        click.echo(f"# {found.flow}: crowdloop:min-seconds {threshold}")
        click.echo("worker\temail\tanswers\tmedian s\tfast\tagreement\tposition bias\tgold")
    for score in found.workers:
        click.echo(json.dumps(_score_dict(score)) if as_json else _score_line(score))


def _score_dict(value: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(value)


def _score_line(score: Any) -> str:
    def show(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    return "\t".join(
        [
            score.worker_id,
            score.email or "-",
            str(score.answers),
            show(score.median_seconds, 1),
            show(score.fast_share),
            show(score.agreement),
            show(score.position_bias),
            show(score.gold_accuracy) + (" paused" if score.paused else ""),
        ]
    )


@workers.command("resume")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name (or ARN).")
@click.argument("email")
@_setting_options(_CALLER_SETTINGS)
def workers_resume(flow_name: str, email: str, **options: Any) -> None:
    """Let a worker paused for a flow definition (gold accuracy below crowdloop:gold-min-accuracy), or who
    failed its qualification, work on it again: clears the pause and their gold counters (a fresh start)."""
    from crowdloop import gold

    services = _services(options)
    _run(lambda: gold.resume(services, _caller(services), flow_name, email))
    click.echo(f"{email} may work on {flow_name} again (gold counters cleared)")


@workers.command("disable")
@click.argument("email")
@_setting_options(_STORE_SETTINGS)
def workers_disable(email: str, **options: Any) -> None:
    """Stop a worker from signing in and taking tasks."""
    _set_status(email, "disabled", options)


@workers.command("enable")
@click.argument("email")
@_setting_options(_STORE_SETTINGS)
def workers_enable(email: str, **options: Any) -> None:
    """Allow a disabled worker back in."""
    _set_status(email, "active", options)


def _set_status(email: str, status: str, options: dict[str, Any]) -> None:
    from crowdloop import workers as worker_service
    from crowdloop.model import WorkerStatus

    worker = _run(lambda: worker_service.set_status(_services(options), email, WorkerStatus(status)))
    click.echo(f"{worker.email} is now {worker.status.value}")


@workers.command("join")
@click.argument("email")
@click.argument("groups", nargs=-1, required=True)
@_setting_options(_STORE_SETTINGS)
def workers_join(email: str, groups: tuple[str, ...], **options: Any) -> None:
    """Add a worker to one or more groups."""
    from crowdloop import workers as worker_service

    worker = _run(lambda: worker_service.add_to_groups(_services(options), email, groups))
    click.echo(f"{worker.email} groups: {', '.join(worker.groups)}")


@workers.command("leave")
@click.argument("email")
@click.argument("groups", nargs=-1, required=True)
@_setting_options(_STORE_SETTINGS)
def workers_leave(email: str, groups: tuple[str, ...], **options: Any) -> None:
    """Remove a worker from one or more groups."""
    from crowdloop import workers as worker_service

    worker = _run(lambda: worker_service.remove_from_groups(_services(options), email, groups))
    click.echo(f"{worker.email} groups: {', '.join(worker.groups) or '-'}")


# --- the requester's view from the terminal: status, loops list (stats.py's counters, loopsearch.search_loops) ---

_LOOP_STATUSES = ("InProgress", "Completed", "Failed", "Stopped", "Stopping")


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per flow definition and line.")
@_setting_options(_CALLER_SETTINGS)
def status(as_json: bool, **options: Any) -> None:
    """One line per flow definition: name, status, loops by status, answers received / needed, answers in
    the last hour, time to finish at that pace. Reads counters: as fast on a million loops as on ten."""
    import json

    from crowdloop import stats

    services = _services(options)
    found = _run(lambda: stats.overview(services, _caller(services)))
    if not found:
        click.echo("no flow definitions", err=True)
    for flow in found:
        click.echo(json.dumps(_progress_json(flow)) if as_json else _progress_line(flow))


def _progress_line(flow: Any) -> str:
    loops = " ".join(f"{status}={n}" for status, n in flow.loops.items() if n) or "no loops"
    needed = flow.answers_needed
    share = f"{100 * flow.answers_received / needed:.0f}%" if needed else "-"
    eta = _duration(flow.eta_seconds) if flow.eta_seconds is not None else "-"
    return (
        f"{flow.name}\t{flow.status}\t{loops}\t{flow.answers_received}/{needed} answers ({share})"
        f"\t{flow.answers_last_hour}/h\tETA {eta}"
    )


def _progress_json(flow: Any) -> dict[str, Any]:
    import dataclasses

    document = dataclasses.asdict(flow)
    document["created_at"] = flow.created_at.isoformat()
    return document


def _duration(seconds: float) -> str:
    """3h05m, 12m, 40s, 2d03h."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"


@main.group("loops")
def loops_group() -> None:
    """Human loops of a flow definition."""


@loops_group.command("list")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name.")
@click.option("--status", "status_name", type=click.Choice(_LOOP_STATUSES), default=None, help="Only this status.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="At most this many.")
@_setting_options(_CALLER_SETTINGS)
def loops_list(flow_name: str, status_name: str | None, limit: int, **options: Any) -> None:
    """List a flow definition's loops, newest first: name, status, created (UTC), answers/task count."""
    from crowdloop import loopsearch
    from crowdloop.model import HumanLoopStatus

    services = _services(options)
    caller = _caller(services)
    wanted = HumanLoopStatus(status_name) if status_name else None
    cursor: str | None = None
    size = min(limit, loopsearch.SEARCH_PAGE_MAX)  # one page size for every page: the cursor is issued for it
    left = limit
    while left > 0:
        page, cursor = _loop_page(services, caller, flow_name, wanted, cursor, size)
        for loop in page[:left]:
            created = loop.created_at.strftime("%Y-%m-%d %H:%M:%S")
            click.echo(f"{loop.name}\t{loop.status.value}\t{created}\t{loop.answers}/{loop.task_count}")
        left -= len(page)
        if cursor is None:
            break


def _loop_page(services: Any, caller: Any, flow_name: str, status: Any, cursor: str | None, limit: int) -> Any:
    from crowdloop import loopsearch

    return _run(lambda: loopsearch.search_loops(services, caller, flow_name, status=status, cursor=cursor, limit=limit))


@main.group("flows")
def flows_group() -> None:
    """Flow definitions' quality-control settings (docs/quality.md)."""


@flows_group.command(
    "set",
    epilog="""Examples:

\b
  crowdloop flows set rank-answers shuffle-responses=true
  crowdloop flows set rank-answers gold-rate=0.1 gold-min-accuracy=0.7""",
)
@click.argument("name")
@click.argument("settings", nargs=-1, required=True, metavar="KEY=VALUE...")
@_setting_options(_CALLER_SETTINGS)
def flows_set(name: str, settings: tuple[str, ...], **options: Any) -> None:
    """Set quality-control keys of flow definition NAME: the `crowdloop:` tags AddTags would set (the
    prefix may be left out), checked the same way. Prints the resulting settings."""
    from crowdloop import flows

    values = {}
    for item in settings:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise click.UsageError(f"{item!r} is not KEY=VALUE (e.g. shuffle-responses=true).")
        values[key.strip()] = value.strip()
    services = _services(options)
    _echo_quality(_run(lambda: flows.set_quality(services, _caller(services), name, values)))


@flows_group.command("show")
@click.argument("name")
@_setting_options(_CALLER_SETTINGS)
def flows_show(name: str, **options: Any) -> None:
    """Print flow definition NAME's quality-control settings, one `crowdloop:` key per line."""
    from crowdloop import flows

    services = _services(options)
    _echo_quality(_run(lambda: flows.quality_of(services, _caller(services), name)))


def _echo_quality(config: Any) -> None:
    from crowdloop import quality

    for key in quality.KEYS:
        value = getattr(config, key.field)
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        click.echo(f"{key.tag}={shown}")


@main.group("gold")
def gold_group() -> None:
    """Gold items: tasks with a known answer that score the workers (docs/quality.md)."""


@gold_group.command("add")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name (or ARN).")
@click.argument("file", metavar="FILE.jsonl")
@_setting_options(_CALLER_SETTINGS)
def gold_add(flow_name: str, file: str, **options: Any) -> None:
    """Add the gold items of FILE (JSON lines: {"id", "input", "answer"}) to a flow definition: all of them,
    or none when a line is wrong (each bad line is named)."""
    from crowdloop import gold

    services = _services(options)
    try:
        with open(file, encoding="utf-8") as lines:
            names = _run(lambda: gold.add_items(services, _caller(services), flow_name, lines))
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text ({exc.reason})") from exc
    click.echo(f"added {len(names)} gold items to {flow_name}")


@gold_group.command("list")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name (or ARN).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per item and line.")
@_setting_options(_CALLER_SETTINGS)
def gold_list(flow_name: str, as_json: bool, **options: Any) -> None:
    """A flow definition's gold items: id, known answer, answers, mean score, active or retired."""
    import json

    from crowdloop import gold

    services = _services(options)
    for item in _run(lambda: gold.list_items(services, _caller(services), flow_name)):
        mean = None if item.mean_score is None else round(item.mean_score, 4)
        if as_json:
            fields = {"id": item.name, "answer": item.answer, "answered": item.answered, "mean_score": mean}
            click.echo(json.dumps({**fields, "retired": item.retired}))
        else:
            shown = "-" if mean is None else f"{mean:.3f}"
            state = "retired" if item.retired else "active"
            click.echo(f"{item.name}\t{json.dumps(item.answer)}\t{item.answered}\t{shown}\t{state}")


@gold_group.command("delete")
@click.option("--flow", "flow_name", required=True, help="The flow definition's name (or ARN).")
@click.argument("item_id", metavar="ID")
@_setting_options(_CALLER_SETTINGS)
def gold_delete(flow_name: str, item_id: str, **options: Any) -> None:
    """Retire gold item ID: no worker gets it again; the scores of its answers stay."""
    from crowdloop import gold

    services = _services(options)
    _run(lambda: gold.delete_item(services, _caller(services), flow_name, item_id))
    click.echo(f"retired {item_id}")


@main.group()
def teams() -> None:
    """Work teams: which worker groups work on the flow definitions that name a team."""


def _caller(services: Any) -> Any:
    from crowdloop.runtime import Caller

    return Caller(services.settings.account_id, services.settings.region)


@teams.command("create")
@click.argument("name")
@click.option("--group", "groups", multiple=True, required=True, help="Worker group the team selects (repeatable).")
@click.option("--description", default=None, help="One line shown to requesters (default: the team's groups).")
@_setting_options(_CALLER_SETTINGS)
def teams_create(name: str, groups: tuple[str, ...], description: str | None, **options: Any) -> None:
    """Create a work team selecting the workers of each group G, as CreateWorkteam does."""
    from crowdloop import teams as team_service

    services = _services(options)
    text = description if description is not None else "Workers of " + ", ".join(groups)
    team = _run(lambda: team_service.create_team(services, _caller(services), name, groups, text))
    click.echo(f"created {team.name} (groups: {', '.join(team.groups)})")
    click.echo(team.arn)


@teams.command("list")
@_setting_options(_CALLER_SETTINGS)
def teams_list(**options: Any) -> None:
    """List work teams: name, groups, description, ARN."""
    from crowdloop import teams as team_service

    services = _services(options)
    for team in _run(lambda: team_service.list_teams(services, _caller(services))):
        click.echo(f"{team.name}\t{','.join(team.groups)}\t{team.description}\t{team.arn}")


@teams.command("delete")
@click.argument("name")
@_setting_options(_CALLER_SETTINGS)
def teams_delete(name: str, **options: Any) -> None:
    """Delete a work team, as DeleteWorkteam does: the tasks its workers hold are withdrawn at once."""
    from crowdloop import teams as team_service

    services = _services(options)
    _run(lambda: team_service.delete_team(services, _caller(services), name))
    click.echo(f"deleted {name}")


def _run(call: Callable[[], Any]) -> Any:
    from crowdloop.errors import CrowdloopError

    try:
        return call()
    except CrowdloopError as exc:
        raise click.ClickException(exc.message) from exc


def _register_optional_commands() -> None:
    """Commands defined next to their feature (they import their heavy dependencies lazily)."""
    from crowdloop.cli_events import events_group, webhooks
    from crowdloop.export.commands import export, report
    from crowdloop.gallery import gallery
    from crowdloop.lint import lint
    from crowdloop.preview import preview

    for command in (export, report, gallery, preview, lint, webhooks, events_group):
        main.add_command(command)


_register_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["Path", "main"]
