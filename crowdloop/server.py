"""How `crowdloop serve` runs the app: in one process (`run_one`), or in N server processes sharing one
listening socket (`run_many`, `serve --workers N`; PostgreSQL only).

Several processes (docs/deployment.md "Several processes on one machine"). The parent binds and listens on
the port, starts the event delivery process once (crowdloop.deliverer, unless event_delivery is "threads":
then each server process delivers, which is correct with any number of them), and starts N server
processes (`python -m crowdloop.server PARENT_PID FD`), handing each the settings over a pipe (pickled, as
the delivery process gets them: secrets never in the environment or on the command line) and the listening
socket as an inherited descriptor (and, with metrics on, the folder their metric values are added up in:
crowdloop.metrics). Each runs the app in uvicorn on that socket, with its own output writer
and lease reaper (both correct with any number of processes: docs/architecture.md); the kernel gives each
new connection to one of the processes waiting in accept. A server process that exits unexpectedly is
started again after RESTART_SECONDS; when they cannot start at all (uvicorn's exit status 3, or
QUICK_EXITS exits in a row each within QUICK_EXIT_SECONDS of its start) the whole server stops with status 1
rather than restarting forever. A server process whose parent is gone stops by itself.

Stopping (both modes). SIGTERM or SIGINT: uvicorn stops accepting, ends idle keep-alive connections,
lets the requests under way finish (at most GRACEFUL_SECONDS), then the app's shutdown sends the output
writes already due (crowdloop.outbox) and stops its background work; the process exits 0. The parent of
`--workers N` forwards the signal to its server processes, waits for them (at most STOP_SECONDS, then
kills what is left), stops the delivery process and exits 0.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from crowdloop.config import Settings, child_environment
from crowdloop.metrics import MULTIPROCESS_ENV
from crowdloop.tls import TlsFiles

log = logging.getLogger(__name__)

GRACEFUL_SECONDS = 5  # requests under way may finish; open event streams end at shutdown, nothing else is longer
STOP_SECONDS = 30.0  # the parent of --workers N waits this long for its server processes to stop
RESTART_SECONDS = 1.0
STARTUP_FAILURE = 3  # uvicorn's exit status when the app's startup failed
QUICK_EXITS = 3
QUICK_EXIT_SECONDS = 10.0
PARENT_CHECK_SECONDS = 1.0
BACKLOG = 2048


@dataclass(frozen=True)
class Launch:
    """What a server process needs from `serve`: the settings and the files TLS is served with."""

    settings: Settings
    certificate: TlsFiles | None


def uvicorn_config(app: Any, launch: Launch) -> Any:
    import uvicorn

    from crowdloop.http_protocol import http_protocol

    settings, certificate = launch.settings, launch.certificate
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers propagate to the root handler logs.configure set up
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http=http_protocol(request_timeout_seconds=settings.request_timeout_seconds),
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        ssl_certfile=str(certificate.cert) if certificate else None,
        ssl_keyfile=str(certificate.key) if certificate else None,
    )


def run_one(app: Any, launch: Launch) -> None:
    """Serve `app` in this process until SIGTERM or SIGINT, then stop gracefully (exit status 0)."""
    import uvicorn

    _serve_until_signalled(uvicorn.Server(uvicorn_config(app, launch)))


def _serve_until_signalled(server: Any, sockets: list[socket.socket] | None = None) -> None:
    """server.run, ending normally after a signal: uvicorn raises the signal it stopped for again once it has
    stopped (for the handler that was there before); with the default handler that would end the process
    with the signal's status instead of 0. A handler of our own makes that last signal a no-op."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_after_stop)
    server.run(sockets=sockets)


def _ignore_after_stop(signum: int, frame: FrameType | None) -> None:
    """The signal uvicorn raises again once it has stopped gracefully: nothing more to do."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening, inheritable by child processes."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(address)
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


class ServerProcesses:
    """The parent of `serve --workers N`: the listening socket, N server processes, the delivery process."""

    def __init__(self, launch: Launch, count: int) -> None:
        from crowdloop.deliverer import DeliveryProcess

        self._launch = launch
        self._count = count
        self._socket = listening_socket(launch.settings.host, launch.settings.port)
        self._children: list[subprocess.Popen[bytes] | None] = [None] * count
        self._started_at = [0.0] * count
        self._quick_exits = 0  # in a row, over every slot
        self._stop = threading.Event()
        self._failed = False
        self._delivery = DeliveryProcess(launch.settings) if launch.settings.event_delivery == "process" else None
        # with metrics on, the processes keep their values in one private folder: a scrape adds them all up
        self._metrics_dir = tempfile.mkdtemp(prefix="crowdloop-metrics-") if launch.settings.metrics_token else None

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (or a server process that cannot start); the exit status."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stopping)
        try:
            if self._delivery is not None:
                self._delivery.start()
            for slot in range(self._count):
                self._spawn(slot)
            log.info("%d server processes serving on %s", self._count, self._launch.settings.endpoint_url)
            while not self._stop.wait(0.2):
                self._restart_exited()
        finally:
            self._stop_all()
        return 1 if self._failed else 0

    def _stopping(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _spawn(self, slot: int) -> None:
        fd = self._socket.fileno()
        child = subprocess.Popen(
            [sys.executable, "-m", "crowdloop.server", str(os.getpid()), str(fd)],
            stdin=subprocess.PIPE,
            pass_fds=(fd,),
            env=child_environment({MULTIPROCESS_ENV: self._metrics_dir}) if self._metrics_dir else None,
        )
        assert child.stdin is not None
        child.stdin.write(pickle.dumps(self._launch))
        child.stdin.close()
        self._children[slot] = child
        self._started_at[slot] = time.monotonic()

    def _restart_exited(self) -> None:
        for slot, child in enumerate(self._children):
            if child is None or child.poll() is None or self._stop.is_set():
                continue
            quick = time.monotonic() - self._started_at[slot] < QUICK_EXIT_SECONDS
            self._quick_exits = self._quick_exits + 1 if quick else 0
            if child.returncode == STARTUP_FAILURE or self._quick_exits >= QUICK_EXITS:
                log.error("server process %d could not start (see above): stopping", child.pid)
                self._failed = True
                self._stop.set()
                return
            log.error("server process %d exited (status %s); starting another", child.pid, child.returncode)
            if not self._stop.wait(RESTART_SECONDS):
                self._spawn(slot)

    def _stop_all(self) -> None:
        running = [child for child in self._children if child is not None and child.poll() is None]
        for child in running:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in running:
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("server process %d did not stop in %.0f s; killing it", child.pid, STOP_SECONDS)
                child.kill()
                child.wait()
        self._socket.close()
        if self._delivery is not None:
            self._delivery.close()
        if self._metrics_dir is not None:
            shutil.rmtree(self._metrics_dir, ignore_errors=True)


def _watch_parent(parent_pid: int, server: Any) -> None:
    """Stop this server process once its parent is gone (killed without stopping its children)."""
    while not server.should_exit:
        if os.getppid() != parent_pid:
            log.warning("the parent process %d is gone: server process %d stops", parent_pid, os.getpid())
            server.should_exit = True
            return
        time.sleep(PARENT_CHECK_SECONDS)


def _main() -> None:
    """A server process of `serve --workers N`: PARENT_PID FD on the command line, the Launch on stdin."""
    import uvicorn

    from crowdloop import logs
    from crowdloop.app import Delivery, create_app

    parent_pid, fd = int(sys.argv[1]), int(sys.argv[2])
    launch = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(launch, Launch):
        raise SystemExit("crowdloop.server: expected the server's launch settings on stdin")
    logs.configure(launch.settings.log_level, launch.settings.log_format)
    delivery: Delivery = "elsewhere" if launch.settings.event_delivery == "process" else "threads"
    server = uvicorn.Server(uvicorn_config(create_app(launch.settings, delivery=delivery), launch))
    threading.Thread(
        target=_watch_parent, args=(parent_pid, server), name="crowdloop-parent-watch", daemon=True
    ).start()
    _serve_until_signalled(server, [socket.socket(fileno=fd)])


if __name__ == "__main__":  # run as crowdloop.server, not __main__: the pickled Launch names that module's class
    from crowdloop.server import _main as main

    main()
