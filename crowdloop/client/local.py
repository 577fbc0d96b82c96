"""crowdloop.local(): a crowdloop server for this notebook, in a subprocess, and a Client pointed at it.

The server is `python -m crowdloop serve` on 127.0.0.1 (a free port unless one is given) over a data folder
(`./crowdloop-data` by default, so the work survives the notebook's kernel); the access key is the folder's
admin key, as `crowdloop keys show` prints it. The server stops with client.close(), at the end of a `with`
block, or when this Python process exits."""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from crowdloop.client.client import Client

START_SECONDS = 60.0


class LocalServerError(RuntimeError):
    """The local server did not start; the message ends with what it printed."""


class LocalClient(Client):
    """A Client of the server local() started; close() stops that server too."""

    def __init__(self, server: LocalServer, exports: dict[str, str], **options: Any) -> None:
        super().__init__(
            endpoint_url=server.url,
            region_name=exports.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
            **options,
        )
        self.server = server
        self.portal_url = server.url + "/"
        self.exports = exports

    def close(self) -> None:
        super().close()
        self.server.stop()


class LocalServer:
    def __init__(self, data_dir: Path, port: int, args: list[str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        command = [sys.executable, "-u", "-m", "crowdloop", "serve", "--host", "127.0.0.1", "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        # The server writes its log to the pipe for as long as it runs: keep reading, or it would block.
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        atexit.register(self.stop)

    def _read(self, stream: TextIO) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                self.lines.append(line.rstrip("\n"))
                del self.lines[:-200]

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reader.join(timeout=2)
                raise LocalServerError("crowdloop serve exited:\n" + "\n".join(self.lines[-20:]))
            try:
                with urllib.request.urlopen(self.url + "/_crowdloop/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise LocalServerError(f"crowdloop serve did not answer in {timeout:.0f} s:\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self._reader.join(timeout=2)
            self.process.stdout.close()


def local(
    data_dir: str | os.PathLike[str] = "./crowdloop-data",
    *,
    port: int | None = None,
    serve_args: tuple[str, ...] = (),
    timeout: float = START_SECONDS,
    **client_options: Any,
) -> LocalClient:
    """Start crowdloop for this notebook and return a Client of it (see the module's docstring).
    serve_args: more `crowdloop serve` flags (e.g. ("--database-url", url)); client_options: Client's."""
    folder = Path(data_dir).expanduser().resolve()
    server = LocalServer(folder, port or _free_port(), list(serve_args))
    server.wait_ready(timeout)
    try:
        exports = _key_lines(folder, server.port, serve_args)
    except Exception:
        server.stop()
        raise
    return LocalClient(server, exports, **client_options)


def _key_lines(folder: Path, port: int, serve_args: tuple[str, ...]) -> dict[str, str]:
    """The `export NAME=value` lines of `crowdloop keys show` for this folder and port."""
    store_flags = _store_flags(serve_args)
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdloop",
            "keys",
            "show",
            "--data-dir",
            str(folder),
            "--port",
            str(port),
            *store_flags,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    exports = {}
    for line in shown.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            exports[name] = value
    if "AWS_SECRET_ACCESS_KEY" not in exports:
        raise LocalServerError(f"crowdloop keys show printed no key:\n{shown.stdout}{shown.stderr}")
    return exports


def _store_flags(serve_args: tuple[str, ...]) -> list[str]:
    args = list(serve_args)
    for i, arg in enumerate(args):
        if arg == "--database-url" and i + 1 < len(args):
            return ["--database-url", args[i + 1]]
        if arg.startswith("--database-url="):
            return [arg]
    return []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
