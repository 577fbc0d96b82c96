"""Shared benchmark plumbing: a real `crowdloop serve` process, CPU time from /proc, wrk replays."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
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


def start_server(database_url: str | None = None, extra_env: dict[str, str] | None = None) -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix="crowdloop-bench-"))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CROWDLOOP_LOG_LEVEL": "warning", **(extra_env or {})}
    if database_url:
        env["CROWDLOOP_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "crowdloop", "serve", "--port", str(port), "--data-dir", str(data_dir)],
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
    process.stdout.close()
    return Server(process, port, data_dir, exports)


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
