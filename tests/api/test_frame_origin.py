"""task_frame_origin: the server answers on the frame's host name only what task frames load."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, free_port, start_server, stop_server


@pytest.fixture(scope="module")
def framed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("frame-origin")
    port = free_port()
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'crowdloop.db'}",
        port=port,
        extra_env={"CROWDLOOP_TASK_FRAME_ORIGIN": f"http://localhost:{port}"},
    )
    yield server
    stop_server(server)


def _status(server: RunningServer, method: str, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_frame_host_serves_frames_and_their_files_only(framed_server: RunningServer) -> None:
    portal, frames = f"127.0.0.1:{framed_server.port}", f"localhost:{framed_server.port}"
    assert _status(framed_server, "GET", "/signin", portal) == 200
    assert _status(framed_server, "GET", "/signin", frames) == 404
    assert _status(framed_server, "GET", "/", frames.upper()) == 404
    assert _status(framed_server, "POST", "/", frames) == 404  # no AWS API there either
    assert _status(framed_server, "GET", "/_crowdloop/health", frames) == 200
    assert _status(framed_server, "GET", "/static/portal.css", frames) == 200
    assert _status(framed_server, "GET", "/tasks/1/frame?token=x", frames) == 403  # the frame route, token checked
    assert _status(framed_server, "GET", "/tasks/1", frames) == 404
