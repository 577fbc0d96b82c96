"""GET /events/stream over HTTP: live events, resuming with Last-Event-ID, filtering, the limit, shutdown."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from crowdloop.eventsapi import stream
from tests.domain.loopsetup import make_flow
from tests.eventsapi.kit import EventStream, LiveServer, serve
from tests.pg import free_port

STARTED = "crowdloop HumanLoop Started"


def _a2i(live: LiveServer) -> Any:
    return boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=live.url,
        region_name="us-east-1",
        aws_access_key_id=live.key.access_key_id,
        aws_secret_access_key=live.key.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def _open(live: LiveServer, query: str = "", headers: dict[str, str] | None = None) -> EventStream:
    path = "/events/stream" + query
    return EventStream(live.port, path, {**live.signed_headers("GET", path), **(headers or {})})


def _start(live: LiveServer, flow_arn: str, name: str) -> None:
    _a2i(live).start_human_loop(
        HumanLoopName=name, FlowDefinitionArn=flow_arn, HumanLoopInput={"InputContent": json.dumps({"text": name})}
    )


def test_live_events_and_resuming_without_duplicates(live: LiveServer) -> None:
    flow = make_flow(live.app.services)
    _start(live, flow.arn, "before-connecting")  # logged before: a new stream starts after it
    time.sleep(0.5)
    first = _open(live)
    try:
        assert first.status == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        assert first.headers["cache-control"] == "no-store"
        _start(live, flow.arn, "loop-one")
        one = first.next_event()
        assert first.retry == "2000"
        assert one.event == STARTED
        assert json.loads(one.data or "")["detail"]["humanLoopName"] == "loop-one"
    finally:
        first.close()
    _start(live, flow.arn, "loop-two")  # while nobody listens
    _start(live, flow.arn, "loop-three")
    resumed = _open(live, headers={"Last-Event-ID": str(one.id)})
    try:
        names = [json.loads(resumed.next_event().data or "")["detail"]["humanLoopName"] for _ in range(2)]
        assert names == ["loop-two", "loop-three"]  # loop-one is not sent again
        ids = [int(one.id or 0)]
        _start(live, flow.arn, "loop-four")
        four = resumed.next_event()
        assert json.loads(four.data or "")["detail"]["humanLoopName"] == "loop-four"
        assert int(four.id or 0) > ids[0]
    finally:
        resumed.close()
    from_after = _open(live, f"?after={one.id}")
    try:
        assert json.loads(from_after.next_event().data or "")["detail"]["humanLoopName"] == "loop-two"
    finally:
        from_after.close()


def test_a_pattern_filters_the_stream(live: LiveServer) -> None:
    flow = make_flow(live.app.services)
    pattern = json.dumps({"detail": {"humanLoopName": [{"prefix": "wanted-"}]}})
    from urllib.parse import quote

    filtered = _open(live, f"?pattern={quote(pattern)}")
    try:
        _start(live, flow.arn, "other-1")
        _start(live, flow.arn, "wanted-1")
        got = filtered.next_event()
        assert json.loads(got.data or "")["detail"]["humanLoopName"] == "wanted-1"
    finally:
        filtered.close()
    bad = _open(live, "?pattern=" + quote('{"detail": 3}'))
    try:
        assert bad.status == 400
    finally:
        bad.close()


def test_refusals_and_the_limit(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "MAX_STREAMS", 1)
    with serve(tmp_path, db_url) as live:
        unsigned = EventStream(live.port, "/events/stream", {})
        assert unsigned.status == 401
        unsigned.close()
        bad_id = _open(live, headers={"Last-Event-ID": "abc"})
        assert bad_id.status == 400
        bad_id.close()
        one = _open(live)
        try:
            assert one.status == 200
            second = _open(live)
            assert second.status == 503
            second.close()
        finally:
            one.close()
        time.sleep(0.3)
        again = _open(live)  # the closed stream gave its place back
        assert again.status == 200
        again.close()


def test_the_server_stops_within_seconds_with_a_stream_open(tmp_path: Path) -> None:
    """`crowdloop serve` (uvicorn, signals handled) stops on SIGTERM although a client holds a stream."""
    from tests.conftest import start_server

    running = start_server(tmp_path, f"sqlite:///{tmp_path / 'crowdloop.db'}", port=free_port())
    try:
        live = LiveServer(app=None, port=running.port, key=_key(running))  # type: ignore[arg-type]
        opened = _open(live)
        assert opened.status == 200
        started = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert running.process.returncode is not None
        with pytest.raises(EOFError):  # the stream ended cleanly: the chunked body's last chunk
            opened.next()
        opened.close()
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def _key(running: Any) -> Any:
    from crowdloop.keys import AccessKey

    return AccessKey(running.access_key_id, running.secret_access_key, "123456789012")
