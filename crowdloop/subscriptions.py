"""Event subscriptions: who is told about which events (docs/events.md, "Subscriptions").

A subscription has an EventBridge event pattern and a target: a webhook URL (each request signed with the
subscription's Standard Webhooks secret), an EventBridge bus or an SNS topic (crowdloop/bus_targets.py). It is
checked when it is created: the pattern parses, the URL is http(s) and may be called (webhook_targets: no
private address unless the setting allows it), and the target answers; each problem is an InvalidInput naming
the field. The console, `crowdloop webhooks` and the events API all create them through `create`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import eventpattern, webhook_signing, webhook_targets
from crowdloop.caches import CacheSpec
from crowdloop.errors import InvalidInput, LimitExceeded, NotFound
from crowdloop.runtime import Services
from crowdloop.secret import Secret
from crowdloop.store.tables import subscriptions

Kind = Literal["webhook", "eventbridge", "sns"]
KINDS: tuple[Kind, ...] = ("webhook", "eventbridge", "sns")
MAX_SUBSCRIPTIONS = 100
MAX_PATTERN_CHARS = 4096
MAX_TARGET_CHARS = 2048
MAX_DESCRIPTION_CHARS = 256
PROBE_SECONDS = 5.0

# A target is checked by connecting to it; tests and the bus targets pass their own probe.
Probe = Callable[[str, float], None]

PATTERNS: CacheSpec[tuple[int, str], eventpattern.EventPattern] = CacheSpec(
    "compiled event patterns",
    "keyed by what cannot change: (subscription id, pattern text); a subscription's pattern is fixed",
    max_entries=4096,
)


@dataclass(frozen=True)
class Subscription:
    id: int
    kind: Kind
    target: str
    pattern: str
    description: str
    created_at: datetime
    created_by: str
    secret: Secret | None  # webhooks: the signing secret (masked in repr and logs)
    config: Mapping[str, Any]  # eventbridge / sns: region, endpoint_url, access_key_id, secret_access_key

    def public(self) -> dict[str, Any]:
        """What listings show: everything but the secrets (the bus credentials' key id stays)."""
        config = {k: v for k, v in self.config.items() if k != "secret_access_key"}
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "pattern": self.pattern,
            "description": self.description,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "config": config,
        }


def create(
    svc: Services,
    *,
    kind: str,
    target: str,
    pattern: str,
    created_by: str,
    description: str = "",
    config: Mapping[str, Any] | None = None,
    secret: str | None = None,
    probe: Probe | None = None,
) -> Subscription:
    """Check and store a subscription; the result carries the webhook secret (generated unless given),
    which listings never show again."""
    if kind not in KINDS:
        raise InvalidInput(f"Value '{kind}' at 'kind' must be one of: {', '.join(KINDS)}.", "kind")
    _check_lengths(target, pattern, description)
    eventpattern.parse_pattern(pattern)
    stored_config: dict[str, Any] | None = None
    if kind == "webhook":
        if config:
            raise InvalidInput("A webhook subscription takes no config (region, endpoint, keys).", "config")
        webhook_targets.check_target_url(target, svc.settings.webhook_allow_private_targets, field="target")
        secret_value = secret if secret is not None else webhook_signing.generate_secret().reveal()
        webhook_signing.parse_secret(secret_value, "secret")
        _probe(probe, target, "target")
    else:
        if secret is not None:
            raise InvalidInput("Only webhook subscriptions have a signing secret.", "secret")
        secret_value = None
        stored_config = _bus_config(cast(Kind, kind), target, config or {}, probe)
    with svc.store.write() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(subscriptions)).scalar_one())
        if count >= MAX_SUBSCRIPTIONS:
            raise LimitExceeded(f"There are {count} subscriptions already; the limit is {MAX_SUBSCRIPTIONS}.")
        now = svc.clock.now()
        new_id = conn.execute(
            subscriptions.insert()
            .values(
                kind=kind,
                target=target,
                pattern=pattern,
                secret=secret_value,
                config=stored_config,
                description=description,
                created_at=now,
                created_by=created_by,
            )
            .returning(subscriptions.c.id)
        ).scalar_one()
    return get(svc, int(new_id))


def _check_lengths(target: str, pattern: str, description: str) -> None:
    for value, field, limit in (
        (target, "target", MAX_TARGET_CHARS),
        (pattern, "pattern", MAX_PATTERN_CHARS),
        (description, "description", MAX_DESCRIPTION_CHARS),
    ):
        if len(value) > limit:
            raise InvalidInput(f"The {field} is {len(value)} characters long; the limit is {limit}.", field)
    if not target:
        raise InvalidInput("The target (a URL, a bus or a topic) must not be empty.", "target")
    if any(not c.isprintable() for c in description):
        raise InvalidInput("The description must be printable text on one line.", "description")


def _bus_config(kind: Kind, target: str, config: Mapping[str, Any], probe: Probe | None) -> dict[str, Any]:
    from crowdloop import bus_targets  # the boto3 clients: loaded only where a bus target is configured

    known = {"region", "endpoint_url", "access_key_id", "secret_access_key"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise InvalidInput(f"Unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))}).", "config")
    bus = bus_target(kind, target, config)
    bus_targets.check_bus_target(bus)
    if bus.endpoint_url:
        _probe(probe, bus.endpoint_url, "endpoint_url")
    return {key: config[key] for key in sorted(known) if config.get(key) is not None}


def bus_target(kind: str, target: str, config: Mapping[str, Any]) -> Any:
    """The bus_targets.BusTarget of a subscription's stored target and config."""
    from crowdloop import bus_targets

    return bus_targets.BusTarget(
        kind=cast(Literal["eventbridge", "sns"], kind),
        arn=target,
        region=str(config.get("region") or _region_of(target)),
        endpoint_url=config.get("endpoint_url"),
        access_key_id=config.get("access_key_id"),
        secret_access_key=config.get("secret_access_key"),
    )


def _region_of(target: str) -> str:
    parts = target.split(":")
    return parts[3] if target.startswith("arn:") and len(parts) > 3 and parts[3] else "us-east-1"


def _probe(probe: Probe | None, url: str, field: str) -> None:
    """Refuse a target that cannot be reached, naming the field it came from."""
    try:
        (probe or probe_url)(url, PROBE_SECONDS)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field) from None


def probe_url(url: str, timeout_seconds: float) -> None:
    """Refuse a target nobody answers at: open (and close) a TCP connection to its host and port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_seconds):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise InvalidInput(
            f"The target {parts.scheme}://{parts.netloc} cannot be reached: {reason}. Start the receiver first.",
            "url",
        ) from None


def _to_subscription(row: Any) -> Subscription:
    return Subscription(
        id=int(row.id),
        kind=cast(Kind, row.kind),
        target=row.target,
        pattern=row.pattern,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        secret=Secret(row.secret) if row.secret else None,
        config=dict(row.config or {}),
    )


def get(svc: Services, subscription_id: int) -> Subscription:
    with svc.store.read() as conn:
        row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
    if row is None:
        raise NotFound("subscription", str(subscription_id), f"Subscription {subscription_id} does not exist.")
    return _to_subscription(row)


def list_all(svc: Services) -> list[Subscription]:
    """Every subscription, oldest first (at most MAX_SUBSCRIPTIONS)."""
    with svc.store.read() as conn:
        return _all(conn)


def _all(conn: Connection) -> list[Subscription]:
    rows = conn.execute(sa.select(subscriptions).order_by(subscriptions.c.id)).all()
    return [_to_subscription(row) for row in rows]


def delete(svc: Services, subscription_id: int) -> None:
    """Delete a subscription and its deliveries (pending ones are not sent)."""
    with svc.store.write() as conn:
        gone = conn.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id)).rowcount
    if not gone:
        raise NotFound("subscription", str(subscription_id), f"Subscription {subscription_id} does not exist.")


def matchers(svc: Services, conn: Connection) -> list[tuple[int, eventpattern.EventPattern]]:
    """Each subscription's id and compiled pattern (the fan-out's read: the small subscriptions table)."""
    cache = svc.caches[PATTERNS]
    found = []
    for subscription_id, text in conn.execute(sa.select(subscriptions.c.id, subscriptions.c.pattern)):
        key = (int(subscription_id), str(text))
        compiled = cache.get(key)
        if compiled is None:
            compiled = eventpattern.parse_pattern(key[1])
            cache.put(key, compiled)
        found.append((key[0], compiled))
    return found
