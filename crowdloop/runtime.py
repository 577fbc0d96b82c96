"""What a domain call needs besides its arguments: the long-lived services and who is calling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from crowdloop.caches import Caches
from crowdloop.passwords import PasswordHasher

if TYPE_CHECKING:
    from crowdloop.blobs import BlobStore
    from crowdloop.clock import Clock
    from crowdloop.config import Settings
    from crowdloop.metrics import Metrics
    from crowdloop.store import Store


class Outbox(Protocol):
    """The process's outbox writers (crowdloop.outbox.OutboxWriters)."""

    def wake(self, kind: str) -> bool:
        """Have the writer of this kind of message send what is due; False when there is none."""
        ...


class EventSignals(Protocol):
    """Who in this process waits for events entering the log (the delivery dispatcher, the live streams)."""

    def logged(self) -> None:
        """Events were just logged (and their deliveries made due) by this process: look now."""
        ...


class Waker(Protocol):
    """A background worker of this process that can be told to look now (crowdloop.labeling.runner)."""

    def wake(self) -> None: ...


@dataclass(frozen=True)
class Services:
    """Built once per process by app.create_app (or by a test) and passed to every domain function."""

    settings: Settings
    store: Store
    clock: Clock
    blobs: BlobStore
    outbox: Outbox | None = None  # None: messages (output.json) are sent in the thread that made them due
    events: EventSignals | None = None  # None: nobody in this process waits for events (scripts, tests)
    metrics: Metrics | None = None  # the server's Prometheus metrics (crowdloop.metrics); None: not measured
    labeling: Waker | None = None  # the labeling jobs' step (crowdloop.labeling.runner); None: not run here
    # Signs NextToken values (crowdloop.paging). build_services passes the data directory's key so tokens
    # survive restarts and are shared by every process; Services built without one (tests) get a fresh key.
    paging_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # Worker passwords: argon2id with production parameters unless a test passes a cheaper hasher.
    passwords: PasswordHasher = field(default_factory=PasswordHasher, repr=False)
    # Every in-process cache (crowdloop.caches): each declared next to its code with one invalidation rule.
    caches: Caches = field(default_factory=Caches, init=False, repr=False, compare=False)


@dataclass(frozen=True)
class Caller:
    """The authenticated API caller: resources live in (account, region)."""

    account: str
    region: str
    access_key_id: str = ""
