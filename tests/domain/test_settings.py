from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from crowdloop.config import SETTINGS, Settings, load_settings
from crowdloop.secret import Secret, SecretUrl

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_settings_table_is_generated_from_the_settings_fields() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    assert [s.name for s in SETTINGS] == list(fields)
    defaults = Settings()
    for setting in SETTINGS:
        value = getattr(defaults, setting.name)
        assert isinstance(value, setting.kind)
        assert (value.reveal() if isinstance(value, Secret) else value) == setting.default


def test_secrets_never_show_in_repr_str_or_logs() -> None:
    url = "postgresql+psycopg://app:hunter2@db.example/crowdloop"
    settings = load_settings({}, env={"CROWDLOOP_DATABASE_URL": url, "CROWDLOOP_S3_SECRET_ACCESS_KEY": "hunter3"})
    shown = [
        repr(settings),
        str(settings),
        str(settings.masked()),
        f"{settings.database_url}",
        settings.shown_database_url,
    ]
    assert not [text for text in shown if "hunter" in text]
    assert "postgresql+psycopg://app:****@db.example/crowdloop" in repr(settings)
    assert settings.resolved_database_url == url and settings.s3_secret_access_key.reveal() == "hunter3"
    assert Settings(database_url=url) == settings.__class__(database_url=SecretUrl(url))  # a str is made a secret
    assert str(Secret("")) == "" and not Secret("") and Secret("x")


def test_only_the_settings_read_the_environment() -> None:
    """CROWDLOOP_CDN_CACHE, CROWDLOOP_CHROMIUM and the rest go through config.SETTINGS."""
    readers = []
    for path in sorted((ROOT / "crowdloop").rglob("*.py")):
        text = path.read_text()
        if path.name != "config.py" and re.search(r"\b(environ|getenv)\b", text):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []
    settings = load_settings({}, env={"CROWDLOOP_CDN_CACHE": "/tmp/cdn", "CROWDLOOP_CHROMIUM": "/opt/chromium"})
    assert settings.cdn_cache_path == Path("/tmp/cdn") and settings.chromium_path == "/opt/chromium"
    assert load_settings({}, env={}).cdn_cache_path == Path.home() / ".cache" / "crowdloop" / "cdn"
