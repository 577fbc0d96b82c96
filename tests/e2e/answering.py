"""Workers answering tasks through the queue's domain calls (the calls the portal makes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from crowdloop import queue, workers
from crowdloop.runtime import Services
from crowdloop.store.tables import flow_definitions


def flow_definition_id(svc: Services, name: str) -> int:
    with svc.store.read() as conn:
        return int(conn.execute(sa.select(flow_definitions.c.id).where(flow_definitions.c.name == name)).scalar_one())


def answer_until(
    svc: Services,
    email: str,
    flow_name: str,
    answer: Callable[[], dict[str, Any]],
    stop: threading.Event,
    answered: list[int] | None = None,
    poll_seconds: float = 0.05,
) -> None:
    """Claim and answer tasks of one flow definition as the given worker until `stop` is set."""
    worker = workers.get_worker(svc, email)
    fd_id = flow_definition_id(svc, flow_name)
    while not stop.is_set():
        lease = queue.claim(svc, worker.id, fd_id)
        if lease is None:
            time.sleep(poll_seconds)
            continue
        queue.submit(svc, lease.assignment_id, worker.id, answer(), time_spent_seconds=1.5)
        if answered is not None:
            answered.append(lease.assignment_id)
