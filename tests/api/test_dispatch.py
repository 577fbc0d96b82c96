"""crowdloop.dispatch: which part of the server answers a request, decided once per request."""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from crowdloop import dispatch
from crowdloop.app import CrowdloopApp
from crowdloop.runtime import Services

FRAMES = b"frames.test:8080"


def _scope(method: str, path: str, host: bytes = b"portal.test", **headers: str) -> dict[str, Any]:
    pairs = [(b"host", host)] + [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "query_string": b"", "headers": pairs}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (_scope("GET", "/signin"), dispatch.PORTAL),
        (_scope("GET", "/_crowdloop/health"), dispatch.INTERNAL),
        (_scope("POST", "/_crowdloop/noop", x_amz_target="SageMaker.ListWorkteams"), dispatch.INTERNAL),
        (_scope("POST", "/", x_amz_target="SageMaker.ListWorkteams"), dispatch.SAGEMAKER),
        (_scope("GET", "/human-loops"), dispatch.A2I),
        (_scope("GET", "/metrics"), dispatch.METRICS),
        (_scope("GET", "/metrics/x"), dispatch.PORTAL),
        (  # a bucket named "metrics": still the S3 API
            _scope("GET", "/metrics", authorization="AWS4-HMAC-SHA256 Credential=AK/20240101/eu/s3/aws4_request"),
            dispatch.S3,
        ),
        (_scope("GET", "/metrics", FRAMES), dispatch.REFUSED),
        # the frame's host name: frames and what they load, nothing else
        (_scope("GET", "/tasks/3/frame", FRAMES), dispatch.PORTAL),
        (_scope("GET", "/static/portal.css", FRAMES), dispatch.PORTAL),
        (_scope("GET", "/_crowdloop/blobs/b/k", FRAMES), dispatch.INTERNAL),
        (_scope("GET", "/_crowdloop/health", b"FRAMES.test:8080"), dispatch.INTERNAL),
        (_scope("GET", "/tasks/3", FRAMES), dispatch.REFUSED),
        (_scope("GET", "/_crowdloop/noop", FRAMES), dispatch.REFUSED),
        (_scope("POST", "/", FRAMES, x_amz_target="SageMaker.ListWorkteams"), dispatch.REFUSED),
    ],
)
def test_destination(scope: dict[str, Any], expected: str) -> None:
    assert dispatch.destination(scope, dispatch.frame_host("http://frames.test:8080")) == expected


def test_the_root_app_classifies_each_request_once(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(services.settings, task_frame_origin="http://frames.test:8080")
    app = CrowdloopApp(dataclasses.replace(services, settings=settings))
    decided: list[str] = []
    classify = dispatch.destination

    def counted(scope: MutableMapping[str, Any], frame_host: bytes = b"") -> str:
        decided.append(classify(scope, frame_host))
        return decided[-1]

    monkeypatch.setattr(dispatch, "destination", counted)
    client = TestClient(app, base_url="http://portal.test")  # no lifespan: no reaper, nothing to warm
    try:
        assert client.get("/_crowdloop/health").status_code == 200
        assert client.get("/signin").status_code == 200
        unsigned = client.post("/", headers={"X-Amz-Target": "SageMaker.ListWorkteams"})
        assert unsigned.status_code == 403 and "x-amzn-requestid" in unsigned.headers  # the AWS API's answer
        assert client.get("/signin", headers={"Host": "frames.test:8080"}).status_code == 404
    finally:
        client.close()
        app.close()
    assert decided == [dispatch.INTERNAL, dispatch.PORTAL, dispatch.SAGEMAKER, dispatch.REFUSED]
