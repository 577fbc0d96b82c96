"""The delivery process: the fan-out of recorded events and their delivery, in a process of their own.

`crowdloop serve` (setting `event_delivery`, default "process") starts one child process running this module
and keeps it running: the fan-out writer (outbox kind "events") and the dispatcher run here, so delivering
events never takes CPU time or the interpreter lock from the API and the portal. The server process only
records events (one outbox row in the transaction of each change). The child polls the outbox (a read; a
write transaction only when events are due) every FANOUT_POLL_SECONDS, and its own fan-out wakes its
dispatcher at once.

The parent hands the settings over a pipe (pickled Settings, secrets included, never in the environment or
on the command line). The child ends on SIGTERM or SIGINT after a last pass, and by itself when its parent
is gone. DeliveryProcess is the parent's side: start, restart after an unexpected exit, stop.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from crowdloop import eventlog, logs, outbox
from crowdloop.clock import SystemClock
from crowdloop.config import Settings
from crowdloop.dispatcher import Dispatcher
from crowdloop.runtime import Services

log = logging.getLogger(__name__)

FANOUT_POLL_SECONDS = 0.05  # how soon an event recorded by the server process is fanned out
PARENT_CHECK_SECONDS = 1.0
RESTART_SECONDS = 1.0
STOP_SECONDS = 15.0


def run(settings: Settings, parent_pid: int) -> None:
    """The child's work until told to stop (or orphaned)."""
    from crowdloop.blobs import blob_store_for
    from crowdloop.store import open_existing_store

    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    base = Services(
        settings=settings,
        store=open_existing_store(settings.resolved_database_url),
        clock=SystemClock(),
        blobs=blob_store_for(settings),
    )
    writers = outbox.OutboxWriters(base, [eventlog.FANOUT], poll_seconds=FANOUT_POLL_SECONDS, peek=True)
    dispatcher = Dispatcher(base)
    listeners = eventlog.Listeners()
    listeners.add(dispatcher.logged)
    svc = dataclasses.replace(base, outbox=writers, events=listeners)
    writers.bind(svc)
    dispatcher.bind(svc)
    writers.start()
    dispatcher.start()
    log.info("event delivery process %d started", os.getpid())
    while not stop.wait(PARENT_CHECK_SECONDS):
        if os.getppid() != parent_pid:
            log.warning("the server process %d is gone: event delivery stops", parent_pid)
            break
    dispatcher.close()
    writers.close()
    svc.store.dispose()


class DeliveryProcess:
    """The server's side: the child process running `run`, restarted when it exits unexpectedly."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="crowdloop-delivery-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        child = subprocess.Popen(
            [sys.executable, "-m", "crowdloop.deliverer", str(os.getpid())], stdin=subprocess.PIPE, close_fds=True
        )
        assert child.stdin is not None
        child.stdin.write(pickle.dumps(self._settings))
        child.stdin.close()
        self._child = child

    def _watch(self) -> None:
        while not self._stop.is_set():
            child = self._child
            if child is not None and child.poll() is not None and not self._stop.is_set():
                log.error("the event delivery process exited (status %s); starting another", child.returncode)
                time.sleep(RESTART_SECONDS)
                if not self._stop.is_set():
                    self._spawn()
            self._stop.wait(0.5)

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def close(self) -> None:
        """Stop the child: SIGTERM (it finishes the attempts under way and a last fan-out pass), then SIGKILL
        after STOP_SECONDS."""
        self._stop.set()
        child = self._child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("the event delivery process did not stop in %.0f s; killing it", STOP_SECONDS)
            child.kill()
            child.wait()


def _main() -> None:
    parent_pid = int(sys.argv[1])
    settings = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(settings, Settings):
        raise SystemExit("crowdloop.deliverer: expected the server's settings on stdin")
    logs.configure(settings.log_level, settings.log_format)
    run(settings, parent_pid)


if __name__ == "__main__":  # run as crowdloop.deliverer (its logger's name), not as __main__
    from crowdloop.deliverer import _main as main

    main()
