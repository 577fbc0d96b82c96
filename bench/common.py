"""Shared benchmark plumbing: a real `crowdloop serve` process, CPU time from /proc, wrk replays."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    data_dir: Path
    exports: dict[str, str]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.exports["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}),
        )

    def cpu_seconds(self) -> float:
        """user + system CPU time the server process has used (from /proc, independent of the client)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def children_cpu_seconds(self) -> float:
        """user + system CPU time of the server's live child processes (the event delivery process)."""
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(fields[1]) == self.process.pid:
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def tree_cpu_seconds(pid: int) -> float:
    """user + system CPU time of process `pid` and every live descendant (from /proc)."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    family, total = {pid}, 0.0
    grew = True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    for member in family:
        total += stats.get(member, (0, 0.0))[1]
    return total


def postgres_cpu_seconds() -> float:
    """user + system CPU time of every PostgreSQL server on this machine: each postmaster's own, that of its
    live processes and that of the ones that have ended (connections closed: cutime/cstime)."""
    procs: dict[int, tuple[str, int, list[str]]] = {}  # pid -> (command name, parent, stat fields)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        command, _, rest = text.partition(" (")[2].rpartition(")")
        fields = rest.split()
        procs[int(stat.parent.name)] = (command, int(fields[1]), fields)
    total = 0.0
    for command, parent, fields in procs.values():
        if command != "postgres":
            continue
        ticks = int(fields[11]) + int(fields[12])
        if procs.get(parent, ("",))[0] != "postgres":  # the postmaster: its ended children count too
            ticks += int(fields[13]) + int(fields[14])
        total += ticks / CLOCK_TICKS
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def start_server(
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    log_path: Path | None = None,
) -> Server:
    """`crowdloop serve` with these extra args once it answers; its output after the key lines goes to
    log_path (default: nowhere)."""
    data_dir = Path(tempfile.mkdtemp(prefix="crowdloop-bench-"))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CROWDLOOP_LOG_LEVEL": "warning", **(extra_env or {})}
    if database_url:
        env["CROWDLOOP_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "crowdloop", "serve", "--port", str(port), "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    exports: dict[str, str] = {}
    assert process.stdout is not None
    while "AWS_ENDPOINT_URL_S3" not in exports:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("server exited before printing its keys")
        if "prints its export lines" in line:  # a store that already has a key: its secret is not printed
            process.kill()
            raise RuntimeError("the store already has an access key; benchmarks start servers on stores they filled")
        match = re.match(r"export (\w+)=(\S+)", line.strip())
        if match:
            exports[match.group(1)] = match.group(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_crowdloop/health", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    if log_path is None:
        process.stdout.close()
    else:
        threading.Thread(target=_copy_lines, args=(process.stdout, log_path), daemon=True).start()
    return Server(process, port, data_dir, exports)


def _copy_lines(source: Any, path: Path) -> None:
    with source, path.open("a") as out:
        for line in source:
            out.write(line)
            out.flush()


def run_wrk(requests_file: Path, url: str, *, connections: int, seconds: float, threads: int = 1) -> dict[str, Any]:
    env = {**os.environ, "CROWDLOOP_BENCH_REQUESTS": str(requests_file), "CROWDLOOP_BENCH_THREADS": str(threads)}
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "replay.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return dict(json.loads(line.removeprefix("WRKJSON ")))
    raise RuntimeError("wrk printed no result:\n" + result.stdout + result.stderr)


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if "Content-Length" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def ratios_to_empty(by_size: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """Each store size's timings divided by the empty store's ("0"), the baseline measured in the same run;
    {} without an empty store."""
    empty = by_size.get("0")
    if not empty:
        return {}
    return {
        size: {name: round(ms / empty[name], 2) if empty.get(name) else None for name, ms in times.items()}
        for size, times in by_size.items()
        if size != "0"
    }
