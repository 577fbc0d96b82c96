"""The reference deployment's parts for tests/e2e/test_reference_deployment.py: the files in deploy/ rendered
for 127.0.0.1 (a few literal values replaced, each of which must be found), a real nginx and a real pgbouncer
(Debian's), each run as a foreground process in a folder of its own and stopped by the test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from tests.pg import _unprivileged_user

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = "/usr/sbin/nginx"
PGBOUNCER = "/usr/sbin/pgbouncer"


def render(path: Path, replacements: Mapping[str, str]) -> str:
    """The file's text with each key replaced by its value; a key the file does not hold fails (the file
    changed under the test: the test must change with it)."""
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, f"{path.name} no longer holds {old!r}"
        text = text.replace(old, new)
    return text


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines of an EnvironmentFile (comments and blank lines skipped, no quoting used)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port}")


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM, seconds: float = 10) -> None:
    """Ask the process to stop; kill it when it does not within `seconds`."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Nginx:
    """nginx in the foreground (`daemon off`) with deploy/nginx/crowdloop.conf included in a minimal main
    configuration whose pid file, error log and temporary folders are in `folder`; as root its workers run as
    root too (they must read the test's folders)."""

    def __init__(self, folder: Path, site: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "crowdloop.conf").write_text(site)
        temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder}/crowdloop.conf;
}}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        self.process = subprocess.Popen(
            [
                NGINX,
                "-c",
                str(self.folder / "nginx.conf"),
                "-p",
                str(self.folder),
                "-e",
                str(self.folder / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, self.process, "nginx (" + self.error_log() + ")")

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, signal.SIGQUIT)  # nginx -s quit: finish the requests under way


class PgBouncer:
    """pgbouncer in front of a PostgreSQL server on 127.0.0.1, in transaction pooling mode, any user trusted (as
    the test server trusts them), configured as docs/deployment.md "Behind pgbouncer" says. pgbouncer refuses
    to run as root: as root it runs as the `postgres` user, in a folder that user can read."""

    def __init__(self, postgres_port: int, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="crowdloop-pgbouncer-"))
        run_as = _unprivileged_user()
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            f"""[databases]
* = host=127.0.0.1 port={postgres_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {self.folder}/users.txt
pool_mode = transaction
ignore_startup_parameters = options
max_client_conn = 1000
default_pool_size = 3
logfile = {self.folder}/pgbouncer.log
"""
        )
        if run_as:
            for path in (self.folder, *self.folder.iterdir()):
                shutil.chown(path, run_as)
        self.process = subprocess.Popen(
            [PGBOUNCER, str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=run_as,
            group=run_as,
            extra_groups=[] if run_as else None,
        )
        try:
            wait_for_port(port, self.process, "pgbouncer")
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        stop(self.process)  # crowdloop has stopped by then: nothing is under way
        shutil.rmtree(self.folder, ignore_errors=True)
