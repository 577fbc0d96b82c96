"""The delivery dispatcher: the server's threads that send due deliveries to their targets (docs/events.md,
"Delivery").

Each server process runs one. Work is done in *lanes*: a lane claims a batch of one subscription's due
deliveries (deliveries.claim: nobody else, in this process or another, holds them meanwhile), sends them one
after the other over its own client (a kept-alive connection, or a boto3 client for a bus or a topic), and
records the results in one transaction (deliveries.settle). A subscription has at most `webhook_concurrency`
lanes at once in a process, all lanes share `webhook_threads` threads, so a receiver that hangs holds at most
its own lanes and every other subscription keeps its pace. The first failed attempt of a batch ends it: the
rest wait for that delivery's retry time, and so do the subscription's deliveries made due meanwhile: the
process starts no lane for it until then (a receiver that is down is probed by one delivery at each retry,
not hit by the whole backlog).

When it looks: when this process logged events or someone asked for a redelivery (`logged`), and every
`POLL_SECONDS` (deliveries other processes made due, retries that came due).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from crowdloop import deliveries, subscriptions
from crowdloop.deliveries import Claimed, Outcome
from crowdloop.runtime import Services
from crowdloop.subscriptions import Subscription

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 128  # deliveries a lane claims at once
CLAIM_MARGIN_SECONDS = 5.0  # a lane stops sending when its claim has less than one attempt plus this left
USER_AGENT = "crowdloop-webhooks"


class LaneSender(Protocol):
    """Sends one subscription's deliveries (used by one lane at a time)."""

    def send(self, batch: Sequence[Claimed], stop_at: float) -> tuple[list[tuple[Claimed, Outcome]], list[Claimed]]:
        """Send in order until a failure or monotonic time `stop_at`: (the results, the deliveries not tried)."""
        ...

    def close(self) -> None: ...


SenderFactory = Callable[[Services, Subscription], LaneSender]


class WebhookSender:
    """A webhook subscription's lane: signed POSTs over one kept-alive connection (webhook_http)."""

    def __init__(self, svc: Services, subscription: Subscription) -> None:
        from crowdloop import webhook_http

        self._svc = svc
        self._url = subscription.target
        self._secret = subscription.secret.reveal() if subscription.secret else ""
        self._client = webhook_http.WebhookClient(
            timeout_seconds=svc.settings.webhook_timeout_seconds,
            allow_private=svc.settings.webhook_allow_private_targets,
            user_agent=USER_AGENT,
        )

    def send(self, batch: Sequence[Claimed], stop_at: float) -> tuple[list[tuple[Claimed, Outcome]], list[Claimed]]:
        results: list[tuple[Claimed, Outcome]] = []
        for index, claimed in enumerate(batch):
            if time.monotonic() >= stop_at:
                return results, list(batch[index:])
            attempt = self._client.post(
                self._url,
                message_id=claimed.event_id,
                body=claimed.body,
                secrets=[self._secret],
                timestamp=self._svc.clock.now(),
            )
            results.append((claimed, attempt))
            if not attempt.ok:
                return results, list(batch[index + 1 :])
        return results, []

    def close(self) -> None:
        self._client.close()


class BusSender:
    """An EventBridge bus's or SNS topic's lane: the batch in PutEvents / PublishBatch calls (bus_targets)."""

    def __init__(self, svc: Services, subscription: Subscription) -> None:
        from crowdloop import bus_targets

        target = subscriptions.bus_target(subscription.kind, subscription.target, subscription.config)
        self._publisher = bus_targets.BusPublisher(
            target, source=svc.settings.events_source, timeout_seconds=svc.settings.webhook_timeout_seconds
        )

    def send(self, batch: Sequence[Claimed], stop_at: float) -> tuple[list[tuple[Claimed, Outcome]], list[Claimed]]:
        attempts = self._publisher.publish([claimed.body for claimed in batch])
        return list(zip(batch, attempts, strict=True)), []

    def close(self) -> None:
        self._publisher.close()


def default_sender(svc: Services, subscription: Subscription) -> LaneSender:
    if subscription.kind == "webhook":
        return WebhookSender(svc, subscription)
    return BusSender(svc, subscription)


class Dispatcher:
    """The process's delivery threads (Services.events). Nothing runs until start()."""

    def __init__(
        self,
        svc: Services,
        *,
        poll_seconds: float = POLL_SECONDS,
        batch: int = BATCH,
        sender_factory: SenderFactory = default_sender,
    ) -> None:
        self._svc = svc
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._sender_factory = sender_factory
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._lanes: dict[int, int] = {}  # subscription id -> lanes running
        self._resting: dict[int, float] = {}  # subscription id -> monotonic time its failing target is tried again
        self._senders: dict[tuple[int, datetime], list[LaneSender]] = {}  # idle senders, kept for their connections
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def bind(self, svc: Services) -> None:
        """Use these Services (the app's, which carry this dispatcher) from now on."""
        self._svc = svc

    def logged(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._pool = ThreadPoolExecutor(self._svc.settings.webhook_threads, thread_name_prefix="crowdloop-delivery")
        self._wake.set()  # the first pass sends what earlier processes left due
        self._thread = threading.Thread(target=self._run, name="crowdloop-dispatcher", daemon=True)
        self._thread.start()

    def close(self, timeout_seconds: float = 10.0) -> None:
        """Stop: lanes finish the attempt they are in, give back what they did not try, and the threads end."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            idle = [sender for senders in self._senders.values() for sender in senders]
            self._senders.clear()
        for sender in idle:
            sender.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                current = subscriptions.list_all(self._svc)
                self._forget_senders({(s.id, s.created_at) for s in current})
                for subscription in current:
                    self._start_lane(subscription, only_if_idle=True)
            except Exception:  # the database is down: the next pass looks again
                log.warning("looking for due deliveries failed; will retry", exc_info=True)

    def _start_lane(self, subscription: Subscription, *, only_if_idle: bool) -> None:
        with self._lock:
            running = self._lanes.get(subscription.id, 0)
            if (only_if_idle and running) or running >= self._svc.settings.webhook_concurrency:
                return
            if self._resting.get(subscription.id, 0.0) > time.monotonic():
                return  # its target failed: new deliveries wait with the others for the retry time
            self._resting.pop(subscription.id, None)
            self._lanes[subscription.id] = running + 1
        assert self._pool is not None
        try:
            self._pool.submit(self._lane, subscription)
        except RuntimeError:  # the pool shut down meanwhile
            self._lane_ended(subscription.id)

    def _lane_ended(self, subscription_id: int) -> None:
        with self._lock:
            left = self._lanes.get(subscription_id, 1) - 1
            if left:
                self._lanes[subscription_id] = left
            else:
                self._lanes.pop(subscription_id, None)

    def _lane(self, subscription: Subscription) -> None:
        """Claim, send and settle batches of one subscription until none is due (or the process stops)."""
        token = secrets.token_hex(8)
        sender = self._take_sender(subscription)
        try:
            while not self._stop.is_set():
                batch = deliveries.claim(self._svc, subscription.id, token, self._batch, self._claim_seconds())
                if not batch:
                    return
                if len(batch) == self._batch:  # more are due: let another lane help, up to the limit
                    self._start_lane(subscription, only_if_idle=False)
                if not self._send_batch(subscription, sender, token, batch):
                    return
        except Exception:
            log.exception("delivering to subscription %d failed; will retry", subscription.id)
        finally:
            self._give_back_sender(subscription, sender)
            self._lane_ended(subscription.id)

    def _claim_seconds(self) -> float:
        """How long a lane holds what it claims: a few attempts' time (a lane killed mid-batch delays its
        deliveries that long), at most deliveries.CLAIM_SECONDS."""
        return min(deliveries.CLAIM_SECONDS, 3 * self._svc.settings.webhook_timeout_seconds + CLAIM_MARGIN_SECONDS)

    def _send_batch(self, subscription: Subscription, sender: LaneSender, token: str, batch: list[Claimed]) -> bool:
        """Send and settle one claimed batch; False when the lane should end (a failure, or stopping)."""
        timeout = self._svc.settings.webhook_timeout_seconds
        stop_at = time.monotonic() + self._claim_seconds() - timeout - CLAIM_MARGIN_SECONDS
        results, untried = sender.send(batch, stop_at)
        failed = any(not outcome.ok for _, outcome in results)
        if failed:
            retry_at = deliveries.settle(self._svc, token, results, held_back=untried)
            if retry_at is not None:
                wait = (retry_at - self._svc.clock.now()).total_seconds()
                with self._lock:
                    self._resting[subscription.id] = time.monotonic() + max(wait, 0.0)
        else:
            deliveries.settle(self._svc, token, results)
            deliveries.release(self._svc, token, untried)
        return not failed and not untried

    def _take_sender(self, subscription: Subscription) -> LaneSender:
        key = (subscription.id, subscription.created_at)
        with self._lock:
            idle = self._senders.get(key)
            if idle:
                return idle.pop()
        return self._sender_factory(self._svc, subscription)

    def _give_back_sender(self, subscription: Subscription, sender: LaneSender) -> None:
        if self._stop.is_set():
            sender.close()
            return
        with self._lock:
            self._senders.setdefault((subscription.id, subscription.created_at), []).append(sender)

    def _forget_senders(self, keep: set[tuple[int, datetime]]) -> None:
        """Close the idle senders of subscriptions deleted since."""
        with self._lock:
            gone = [key for key in self._senders if key not in keep]
            closing = [sender for key in gone for sender in self._senders.pop(key)]
        for sender in closing:
            sender.close()
