"""Leases handed from one request to the next, so a working cycle reads each lease from the store once.

Start working and Submit claim a lease and redirect the browser to its task page; the task page then
loads its frame. The request that has the Lease in hand puts it here and the next one takes it instead
of reading it again. An entry is used once, only by the same worker, only within HANDOFF_SECONDS and
before the lease expires; anything else (another process, a reload, a late frame) reads the store.
The only staleness this allows is a lease withdrawn during those seconds (queue.withdraw_ineligible_leases:
the loop stopped, the worker revoked ...): the page shows the task once and its submission is refused as no
longer available.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from threading import Lock

from crowdloop.queue import Lease

HANDOFF_SECONDS = 10
_SIZE = 4096


class LeaseHandoff:
    def __init__(self) -> None:
        # keyed by (gold item lease?, assignment id): gold leases have ids of their own (crowdloop.gold)
        self._entries: OrderedDict[tuple[bool, int], tuple[Lease, datetime]] = OrderedDict()
        self._lock = Lock()

    def put(self, lease: Lease, now: datetime) -> None:
        with self._lock:
            self._entries[(lease.gold, lease.assignment_id)] = (lease, now)
            while len(self._entries) > _SIZE:
                self._entries.popitem(last=False)

    def take(self, assignment_id: int, worker_pk: int, now: datetime, gold: bool = False) -> Lease | None:
        with self._lock:
            entry = self._entries.get((gold, assignment_id))
            if entry is None or entry[0].worker_pk != worker_pk:
                return None
            del self._entries[(gold, assignment_id)]
        lease, stored_at = entry
        fresh = stored_at <= now <= stored_at + timedelta(seconds=HANDOFF_SECONDS)
        return lease if fresh and lease.expires_at > now else None

    def discard(self, assignment_id: int, gold: bool = False) -> None:
        with self._lock:
            self._entries.pop((gold, assignment_id), None)
