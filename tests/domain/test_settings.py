from __future__ import annotations

import pytest

from crowdloop.config import load_settings


def test_flags_override_environment_which_overrides_defaults() -> None:
    env = {"CROWDLOOP_PORT": "9000", "CROWDLOOP_HOST": "0.0.0.0"}
    settings = load_settings({"port": 7000, "host": None}, env=env)
    assert settings.port == 7000
    assert settings.host == "0.0.0.0"
    assert load_settings({}, env={}).port == 8080


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(ValueError, match="CROWDLOOP_PORT"):
        load_settings({}, env={"CROWDLOOP_PORT": "eighty"})
    with pytest.raises(ValueError, match="auth"):
        load_settings({"auth": "maybe"}, env={})
    for bad in ("0", "-1", "nan", "inf"):
        with pytest.raises(ValueError, match="CROWDLOOP_REQUEST_TIMEOUT_SECONDS"):
            load_settings({}, env={"CROWDLOOP_REQUEST_TIMEOUT_SECONDS": bad})


def test_secrets_are_masked() -> None:
    settings = load_settings({"s3_secret_access_key": "hunter2"}, env={})
    assert settings.masked()["s3_secret_access_key"] == "****"


def test_task_frame_sources_are_origins() -> None:
    settings = load_settings({}, env={"CROWDLOOP_TASK_FRAME_SOURCES": "https://www.youtube.com, https://b.s3.x:8443"})
    assert settings.frame_sources == ("https://www.youtube.com", "https://b.s3.x:8443")
    assert load_settings({}, env={}).frame_sources == ()
    for bad in ("https://x.example/path", "'unsafe-eval'", "*", "https://x.example;script-src *"):
        with pytest.raises(ValueError, match="CROWDLOOP_TASK_FRAME_SOURCES"):
            load_settings({"task_frame_sources": bad}, env={})


def test_task_frame_origin_is_another_origin() -> None:
    assert load_settings({"task_frame_origin": "http://localhost:8080"}, env={}).task_frame_origin
    for bad in ("http://127.0.0.1:8080", "https://*.example.org", "http://localhost:8080/frames", "localhost"):
        with pytest.raises(ValueError, match="CROWDLOOP_TASK_FRAME_ORIGIN"):
            load_settings({"task_frame_origin": bad}, env={})
