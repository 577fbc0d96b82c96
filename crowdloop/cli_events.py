"""`crowdloop webhooks ...` and `crowdloop events tail`: subscriptions, their deliveries and the event log
from the terminal (docs/cli.md, "Events and webhooks"). Parse, then call subscriptions.py, deliveries.py and
eventstream.py; no rule of their own lives here.

cli.py registers these groups at its end, so this module uses cli.py's helpers (the settings flags, the
store, the one-line errors): import `crowdloop.cli`, not this module, to get the commands.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from crowdloop.cli import _STORE_SETTINGS, _run, _services, _setting_options

ALL_EVENTS = '{"version": ["0"]}'  # every event has version "0": the pattern that matches them all
CREATED_BY = "cli"
PATTERN_CHARS_SHOWN = 48
TAIL_POLL_SECONDS = 0.5

_ADD_SETTINGS = (*_STORE_SETTINGS, "webhook_allow_private_targets")


@click.group()
def webhooks() -> None:
    """Event subscriptions: webhooks, EventBridge buses and SNS topics that receive matching events,
    and their deliveries (docs/events.md)."""


@webhooks.command(
    "add",
    epilog="""Examples:

\b
  crowdloop webhooks add https://example.org/hook --all
  crowdloop webhooks add https://example.org/hook \\
      --pattern '{"detail": {"humanLoopStatus": ["Failed"]}}' --description "failed loops"
  crowdloop webhooks add https://example.org/hook --pattern @pattern.json
  crowdloop webhooks add arn:aws:sns:us-east-1:123456789012:loops --kind sns --all \\
      --region us-east-1 --access-key-id AKIA... --secret-access-key ...""",
)
@click.argument("target")
@click.option("--pattern", default=None, help="EventBridge event pattern (JSON), or @FILE to read it from a file.")
@click.option("--all", "all_events", is_flag=True, help=f"Every event: the same as --pattern '{ALL_EVENTS}'.")
@click.option(
    "--kind",
    type=click.Choice(["webhook", "eventbridge", "sns"]),
    default="webhook",
    show_default=True,
    help="TARGET is a webhook URL, an EventBridge bus ARN or an SNS topic ARN.",
)
@click.option("--description", default="", help="One line saying what the subscription is for.")
@click.option("--secret", default=None, help="Webhooks: the signing secret (whsec_...) [default: a new one].")
@click.option("--region", default=None, help="Bus / topic: its region [default: the ARN's].")
@click.option("--endpoint-url", default=None, help="Bus / topic: another endpoint than AWS's (e.g. an emulator).")
@click.option("--access-key-id", default=None, help="Bus / topic: the AWS access key to send with.")
@click.option("--secret-access-key", default=None, help="Bus / topic: that key's secret.")
@_setting_options(_ADD_SETTINGS)
def webhooks_add(
    target: str,
    pattern: str | None,
    all_events: bool,
    kind: str,
    description: str,
    secret: str | None,
    region: str | None,
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    **options: Any,
) -> None:
    """Subscribe TARGET to the events matching a pattern (--pattern JSON, --pattern @FILE, or --all).

    The target is checked first: a webhook URL must be http(s), reachable now, and not a private or
    loopback address unless --webhook-allow-private-targets is true (set it for the server too: it checks
    again at each delivery). Prints the subscription's id and, for
    a webhook, its signing secret: the only time it is shown."""
    from crowdloop import subscriptions

    text = _pattern_option(pattern, all_events)
    if text is None:
        raise click.UsageError(f"Missing --pattern (or --all: every event, the pattern {ALL_EVENTS}).")
    config = {
        key: value
        for key, value in (
            ("region", region),
            ("endpoint_url", endpoint_url),
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
        )
        if value is not None
    }
    services = _services(options)
    created = _run(
        lambda: subscriptions.create(
            services,
            kind=kind,
            target=target,
            pattern=text,
            created_by=CREATED_BY,
            description=description,
            config=config,
            secret=secret,
        )
    )
    click.echo(f"created subscription {created.id} ({created.kind} -> {created.target})")
    if created.secret is not None:
        click.echo(f"signing secret: {created.secret.reveal()}")
        click.echo("store it now: it is not shown again", err=True)


def _pattern_option(value: str | None, all_events: bool) -> str | None:
    """The pattern's text from --pattern (JSON or @FILE) or --all; None when neither was given."""
    if value is not None and all_events:
        raise click.UsageError("Give --pattern or --all, not both.")
    if all_events:
        return ALL_EVENTS
    if value is None or not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.ClickException(f"Cannot read the pattern file {value[1:]}: {reason}.") from None


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per subscription and line.")
@_setting_options(_STORE_SETTINGS)
def webhooks_list(as_json: bool, **options: Any) -> None:
    """List subscriptions, oldest first, tab-separated: id, kind, target, pattern (shortened), pending and
    failed deliveries, created (UTC). Secrets are never shown."""
    from crowdloop import deliveries, subscriptions

    services = _services(options)
    found = _run(lambda: subscriptions.list_all(services))
    if not found:
        click.echo("no subscriptions", err=True)
    for subscription in found:
        counts = _run(lambda: deliveries.summary(services, subscription.id))  # noqa: B023 (called at once)
        if as_json:
            click.echo(_json_line({**subscription.public(), **counts}))
            continue
        created = subscription.created_at.strftime("%Y-%m-%d %H:%M:%S")
        backlog = f"pending={_count(counts['pending'])} failed={_count(counts['failed'])}"
        fields = (subscription.id, subscription.kind, subscription.target, _short(subscription.pattern), backlog)
        click.echo("\t".join(map(str, (*fields, created))))


def _count(number: int) -> str:
    """The summary counts at most SUMMARY_CAP: say so rather than print a number that is too small."""
    from crowdloop.deliveries import SUMMARY_CAP

    return f"{number}+" if number >= SUMMARY_CAP else str(number)


def _short(pattern: str) -> str:
    """A pattern on one line, compact, cut to PATTERN_CHARS_SHOWN characters."""
    try:
        text = json.dumps(json.loads(pattern), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        text = " ".join(pattern.split())
    return text if len(text) <= PATTERN_CHARS_SHOWN else text[: PATTERN_CHARS_SHOWN - 3] + "..."


def _json_line(document: dict[str, Any]) -> str:
    return json.dumps(document, default=_json_value, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


@webhooks.command("delete")
@click.argument("subscription_id", metavar="ID", type=int)
@_setting_options(_STORE_SETTINGS)
def webhooks_delete(subscription_id: int, **options: Any) -> None:
    """Delete a subscription and its deliveries (pending ones are not sent)."""
    from crowdloop import subscriptions

    services = _services(options)
    _run(lambda: subscriptions.delete(services, subscription_id))
    click.echo(f"deleted subscription {subscription_id}")


@webhooks.command(
    "deliveries",
    epilog="""Examples:

\b
  crowdloop webhooks deliveries 3
  crowdloop webhooks deliveries 3 --state failed --limit 200
  crowdloop webhooks deliveries 3 --json | jq .lastError""",
)
@click.argument("subscription_id", metavar="ID", type=int)
@click.option("--state", type=click.Choice(["pending", "delivered", "failed"]), default=None, help="Only this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery and line.")
@_setting_options(_STORE_SETTINGS)
def webhooks_deliveries(subscription_id: int, state: str | None, limit: int, as_json: bool, **options: Any) -> None:
    """A subscription's deliveries, newest first, tab-separated: delivery id, event id, detail-type, state,
    attempts, the last attempt's HTTP status or error, and the next attempt (pending) or when it ended."""
    from crowdloop import deliveries

    services = _services(options)
    found = _run(lambda: deliveries.listing(services, subscription_id, state=state, limit=limit))
    if not found:
        click.echo("no deliveries", err=True)
    for delivery in found:
        click.echo(_json_line(delivery.public()) if as_json else _delivery_line(delivery))


def _delivery_line(delivery: Any) -> str:
    last = str(delivery.last_status) if delivery.last_status is not None else (delivery.last_error or "-")
    if delivery.next_attempt_at is not None:
        when = f"next {_utc(delivery.next_attempt_at)}"
    elif delivery.ended_at is not None:
        when = f"ended {_utc(delivery.ended_at)}"
    else:
        when = "-"
    fields = (delivery.id, delivery.event_id, delivery.detail_type, delivery.state, delivery.attempts, last, when)
    return "\t".join(" ".join(str(field).split()) for field in fields)  # an error text stays on its line


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@webhooks.command(
    "redeliver",
    epilog="""Examples:

\b
  crowdloop webhooks redeliver 1042          # delivery 1042, whatever its state
  crowdloop webhooks redeliver --failed 3    # every failed delivery of subscription 3""",
)
@click.argument("number", metavar="ID", type=int)
@click.option("--failed", is_flag=True, help="ID is a subscription: send each of its failed deliveries again.")
@_setting_options(_STORE_SETTINGS)
def webhooks_redeliver(number: int, failed: bool, **options: Any) -> None:
    """Send delivery ID again now (the same event, the same webhook-id) with a new retry window, or with
    --failed every failed delivery of subscription ID. A running server sends them within a second."""
    from crowdloop import deliveries

    services = _services(options)
    if failed:
        count = _run(lambda: deliveries.redeliver_failed(services, number))
        click.echo(f"{count} failed deliveries of subscription {number} are pending again")
        return
    delivery = _run(lambda: deliveries.redeliver(services, number))
    click.echo(f"delivery {delivery.id} (event {delivery.event_id}) is {delivery.state} again")


@click.group("events")
def events_group() -> None:
    """The event log: the status-change events crowdloop records (docs/events.md)."""


@events_group.command(
    "tail",
    epilog="""Examples:

\b
  crowdloop events tail
  crowdloop events tail --from-start --json | jq .detail.humanLoopName
  crowdloop events tail --pattern '{"detail": {"humanLoopStatus": ["Failed"]}}'
  crowdloop events tail --after 1200 --limit 100 --timeout 10""",
)
@click.option("--pattern", default=None, help="Only events matching this EventBridge pattern (JSON, or @FILE).")
@click.option("--from-start", is_flag=True, help="Begin with the oldest event the log keeps.")
@click.option("--after", type=click.IntRange(min=0), default=None, help="Begin after this position in the log.")
@click.option("--json", "as_json", is_flag=True, help="Print each event's document, one JSON line each.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after this many events.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@_setting_options(_STORE_SETTINGS)
def events_tail(
    pattern: str | None,
    from_start: bool,
    after: int | None,
    as_json: bool,
    limit: int | None,
    timeout: float | None,
    **options: Any,
) -> None:
    """Print events as they are logged, until Ctrl-C (or --limit / --timeout): by default those logged from
    now on, one line each: time (UTC), detail-type, loop name, loop status."""
    from crowdloop.eventpattern import parse_pattern
    from crowdloop.eventstream import Follower

    if from_start and after is not None:
        raise click.UsageError("Give --from-start or --after, not both.")
    text = _pattern_option(pattern, all_events=False)
    compiled = _run(lambda: parse_pattern(text)) if text is not None else None
    services = _services(options)
    follower = _run(lambda: Follower(services, after=0 if from_start else after, pattern=compiled))
    show: Callable[[bytes], str] = _event_json if as_json else _event_line
    deadline = time.monotonic() + timeout if timeout is not None else None
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a tail ends: quietly, exit status 0
        _follow(follower, show, limit, deadline)


def _follow(follower: Any, show: Callable[[bytes], str], limit: int | None, deadline: float | None) -> None:
    """Print what the follower finds every TAIL_POLL_SECONDS until `limit` events or the deadline."""
    shown = 0
    while True:
        wanted = 500 if limit is None else min(500, limit - shown)
        found = _run(lambda: follower.poll(limit=wanted))  # noqa: B023 (called at once)
        for event in found[:wanted]:
            click.echo(show(event.body))
            shown += 1
        if limit is not None and shown >= limit:
            return
        pause = TAIL_POLL_SECONDS
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            pause = min(pause, left)
        time.sleep(pause)


def _event_json(body: bytes) -> str:
    """The event's document exactly as stored, signed and sent (compact, one line)."""
    return body.decode("utf-8")


def _event_line(body: bytes) -> str:
    event = json.loads(body)
    detail = event.get("detail") or {}
    fields = (event.get("time"), event.get("detail-type"), detail.get("humanLoopName"), detail.get("humanLoopStatus"))
    return "\t".join(str(field) if field is not None else "-" for field in fields)
