"""What a running server tells the other processes of its store: the public base URL of the worker portal
that `serve` printed on its last start, so that the links the CLI prints (invitations, the sign-in page)
reach that server rather than a default port. Owns the `announcements` table (one row per name).

    announce_portal_url(store, clock, url)                 `serve`, on start: the last server started wins
    announced_portal_url(store)            -> Announcement | None
    settings_for_links(settings, store, address_given) -> (Settings, note)
                                                           the address links use, and a note when it is
                                                           only the settings' (no server ever announced one)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa

from crowdloop.clock import Clock
from crowdloop.config import Settings
from crowdloop.store import Store
from crowdloop.store.tables import announcements

PORTAL_URL = "portal_url"


@dataclass(frozen=True)
class Announcement:
    value: str
    announced_at: datetime


def announce_portal_url(store: Store, clock: Clock, url: str) -> None:
    """Record `url` (scheme://host[:port], as `serve` prints it) as the portal's public base URL."""
    _announce(store, clock, PORTAL_URL, url)


def announced_portal_url(store: Store) -> Announcement | None:
    return _announced(store, PORTAL_URL)


def settings_for_links(settings: Settings, store: Store, *, address_given: bool) -> tuple[Settings, str]:
    """`settings` with the portal address that links should use: the one given to the command when it was
    given one (address_given: a flag or CROWDLOOP_* variable for host, port, public_host or public_scheme),
    else the one the last `serve` on this store announced, else the settings' own; the note (else empty)
    says that the link is only the settings' guess."""
    announced = None if address_given else announced_portal_url(store)
    if announced is not None:
        parts = urlsplit(announced.value)
        return dataclasses.replace(settings, public_scheme=parts.scheme, public_host=parts.netloc), ""
    if address_given:
        return settings, ""
    return settings, (
        f"No `crowdloop serve` has run on this store yet, so the link uses the address in the settings "
        f"({settings.portal_url}); pass --public-host (or --host/--port) as workers will reach the server."
    )


def _announce(store: Store, clock: Clock, name: str, value: str) -> None:
    a = announcements
    with store.write() as conn:
        conn.execute(a.delete().where(a.c.name == name))
        conn.execute(a.insert().values(name=name, value=value, announced_at=clock.now()))


def _announced(store: Store, name: str) -> Announcement | None:
    a = announcements
    with store.read() as conn:
        row = conn.execute(sa.select(a.c.value, a.c.announced_at).where(a.c.name == name)).first()
    return None if row is None else Announcement(str(row.value), row.announced_at)
