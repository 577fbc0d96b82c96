"""A throwaway PostgreSQL server for the test suite (Debian's postgresql package, loopback only).

Set CROWDLOOP_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) to use a
running server instead; otherwise one is created with initdb in a temporary folder and stopped at exit.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


class PostgresServer:
    def __init__(self) -> None:
        self.url = os.environ.get("CROWDLOOP_TEST_POSTGRES_URL", "")
        self._dir: Path | None = None
        self._bin: Path | None = None
        self._options = ""
        if not self.url:
            self._start()

    def _start(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates:
            raise RuntimeError(
                "PostgreSQL server binaries not found (apt-get install postgresql); or set CROWDLOOP_TEST_POSTGRES_URL"
            )
        self._bin = Path(candidates[-1]).parent
        self._dir = Path(tempfile.mkdtemp(prefix="crowdloop-pg-"))
        port = free_port()
        run_as = _unprivileged_user()
        if run_as:
            os.chmod(self._dir, 0o777)
            shutil.chown(self._dir, run_as)
        data = self._dir / "data"
        self._run(
            [str(self._bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
            run_as,
        )
        self._options = (
            f"-p {port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self.resume()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    @property
    def controllable(self) -> bool:
        """pause() and resume() work (a server this object started, not CROWDLOOP_TEST_POSTGRES_URL)."""
        return self._dir is not None and self._bin is not None

    def pause(self) -> None:
        """Stop the server as an outage would (connections are cut), keeping its data for resume()."""
        assert self._dir and self._bin, "not a server this object started"
        self._run(
            [str(self._bin / "pg_ctl"), "-D", str(self._dir / "data"), "-m", "fast", "-w", "stop"], _unprivileged_user()
        )

    def resume(self) -> None:
        """Start the server (again) on the same port and data."""
        assert self._dir and self._bin, "not a server this object started"
        self._run(
            [
                str(self._bin / "pg_ctl"),
                "-D",
                str(self._dir / "data"),
                "-o",
                self._options,
                "-l",
                str(self._dir / "log"),
                "-w",
                "start",
            ],
            _unprivileged_user(),
        )

    def _run(self, cmd: list[str], run_as: str | None) -> None:
        if run_as:
            cmd = ["runuser", "-u", run_as, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def create_database(self, template: str | None = None) -> str:
        """Create a new empty database (optionally a copy of `template`) and return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self._plain_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url.rsplit("/", 1)[0] + "/" + name

    def _plain_url(self, database: str) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/" + database

    def stop(self) -> None:
        if self._dir and self._bin:
            subprocess.run(
                [
                    "runuser",
                    "-u",
                    _unprivileged_user() or "root",
                    "--",
                    str(self._bin / "pg_ctl"),
                    "-D",
                    str(self._dir / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ]
                if _unprivileged_user()
                else [str(self._bin / "pg_ctl"), "-D", str(self._dir / "data"), "-m", "immediate", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            shutil.rmtree(self._dir, ignore_errors=True)


def _unprivileged_user() -> str | None:
    """initdb refuses to run as root: use the 'postgres' account the Debian package creates."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root but no 'postgres' user exists to run PostgreSQL") from exc
    return "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
