"""`serve --log-format json` (crowdloop/logs.py): every line it logs is one JSON object, uvicorn's included;
a line written while handling a request names that request's id, which the response carries back in
X-Request-Id (the client's own id when it sent a short token, else a new one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.pg import free_port


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_json_lines_name_the_request(tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDLOOP_")}
    with open(log_file, "wb") as sink:
        args = ["serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--log-format", "json"]
        process = subprocess.Popen(
            [sys.executable, "-m", "crowdloop", *args],
            stdout=subprocess.DEVNULL,  # the welcome lines (click.echo) are not log lines
            stderr=sink,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(base + "/_crowdloop/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log_file.read_text()
                time.sleep(0.1)
            status, headers = _get(base + "/signin/oidc/callback?state=x", {"X-Request-Id": "report-42"})
            assert status == 400 and headers["x-request-id"] == "report-42"
            status, headers = _get(base + "/signin/oidc/callback?state=y", {"X-Request-Id": "no spaces allowed"})
            minted = headers["x-request-id"]
            assert status == 400 and minted != "no spaces allowed" and len(minted) == 16
            assert _get(base + "/_crowdloop/health")[1]["x-request-id"]  # every response has one
        finally:
            process.terminate()
            process.wait(timeout=20)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("uvicorn") and "startup complete" in e["message"] for e in entries)
    mine = [e for e in entries if e.get("request_id") == "report-42"]
    assert [e["message"] for e in mine] == ["OIDC sign-in: no valid state cookie"]
    assert mine[0]["level"] == "WARNING" and mine[0]["logger"] == "crowdloop.portal.oidc"
    assert [e.get("request_id") for e in entries if "state cookie" in e["message"]] == ["report-42", minted]
    assert not any("request_id" in e for e in entries if "startup complete" in e["message"])  # not in a request
