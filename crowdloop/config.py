"""Settings: command-line flags override CROWDLOOP_* environment variables, which override defaults.

SETTINGS is the single table of every setting (name, default, help); docs/settings.md is checked
against it by a test, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env(self) -> str:
        return "CROWDLOOP_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "Address the server listens on."),
    Setting("port", 8080, "TCP port the server listens on.", int),
    Setting("data_dir", "./crowdloop-data", "Directory for the SQLite database, local output and keys."),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the store; empty means sqlite:///<data_dir>/crowdloop.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    ),
    Setting(
        "output_dir",
        "",
        "Folder of the built-in output store (served through the S3 API); empty means <data_dir>/output.",
    ),
    Setting(
        "s3_endpoint_url",
        "",
        "Write output.json to this S3-compatible service instead of the local "
        "folder (e.g. http://127.0.0.1:9000). Uses s3_access_key_id/s3_secret_access_key.",
    ),
    Setting("s3_access_key_id", "", "Access key for s3_endpoint_url."),
    Setting("s3_secret_access_key", "", "Secret key for s3_endpoint_url (masked in logs)."),
    Setting("s3_region", "us-east-1", "Region used to sign requests to s3_endpoint_url."),
    Setting(
        "auth",
        "sigv4",
        "API authentication: 'sigv4' (verify every request's signature) or 'off' "
        "(accept unsigned requests, except from web pages of other origins and for Host names not the "
        "server's own; for local experiments only, logged loudly).",
    ),
    Setting(
        "region",
        "us-east-1",
        "Region printed in the export lines; resources live in the region each request is signed for.",
    ),
    Setting(
        "account_id",
        "123456789012",
        "The one AWS account the server serves (12 digits): its access keys, "
        "ARNs and caller identity; keys of any other account are refused and `serve` will not start on a store "
        "holding another account's data.",
    ),
    Setting("public_host", "", "Host[:port] of the worker portal as returned in SubDomain; empty means <host>:<port>."),
    Setting(
        "public_scheme",
        "http",
        "Scheme of the portal's public address in invitation links, template and "
        "blob URLs and identity data: 'https' when a TLS proxy serves the portal.",
    ),
    Setting(
        "task_frame_sources",
        "",
        "Extra origins the task frame may load images, media, frames and fetches "
        "from, separated by spaces or commas (e.g. 'https://www.youtube.com https://my-bucket.s3.amazonaws.com'): "
        "for templates that show URLs the loop's input gives. Empty: only grant_read_access URLs and what the "
        "template itself names.",
    ),
    Setting(
        "task_frame_origin",
        "",
        "Serve the task frame from this other origin of the same server (e.g. "
        "'http://localhost:8080' when workers use http://127.0.0.1:8080, or 'https://tasks.example.org'): "
        "the frame is then cross-origin without the sandbox attribute, so PDF viewers and dialogs work. "
        "Empty: a sandboxed frame on the portal's own origin.",
    ),
    Setting(
        "max_in_progress_loops",
        100000,
        "Quota of concurrently InProgress human loops per account "
        "(StartHumanLoop answers ServiceQuotaExceededException above it).",
        int,
    ),
    Setting("signature_window_seconds", 900, "How far X-Amz-Date may be from the server's clock.", int),
    Setting("reaper_interval_seconds", 5.0, "How often expired leases and loops are swept.", float),
    Setting(
        "request_timeout_seconds",
        30.0,
        "Time a client has to send one complete request (headers and body) "
        "after connecting or after the previous response; slower or idle connections are closed.",
        float,
    ),
    Setting(
        "render_time_limit_seconds",
        2.0,
        "CPU time one template render may use (RenderUiTemplate, the task "
        "frame, previews); a template that needs more fails with a clear error instead of stalling the server.",
        float,
    ),
    Setting("log_level", "info", "Log level: debug, info, warning, error."),
)

_SECRET_SETTINGS = {"s3_secret_access_key"}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./crowdloop-data"
    database_url: str = ""
    output_dir: str = ""
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"
    auth: str = "sigv4"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    public_host: str = ""
    public_scheme: str = "http"
    task_frame_sources: str = ""
    task_frame_origin: str = ""
    max_in_progress_loops: int = 100000
    signature_window_seconds: int = 900
    reaper_interval_seconds: float = 5.0
    request_timeout_seconds: float = 30.0
    render_time_limit_seconds: float = 2.0
    log_level: str = "info"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'crowdloop.db'}"

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir).expanduser().resolve() if self.output_dir else self.data_path / "output"

    @property
    def portal_host(self) -> str:
        return self.public_host or f"{self.host}:{self.port}"

    @property
    def portal_url(self) -> str:
        """scheme://host[:port] of the worker portal as workers reach it."""
        return f"{self.public_scheme}://{self.portal_host}"

    @property
    def frame_sources(self) -> tuple[str, ...]:
        """task_frame_sources as a list of origins."""
        return tuple(source for source in re.split(r"[\s,]+", self.task_frame_sources) if source)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets hidden, for logs."""
        values = dataclasses.asdict(self)
        for name in _SECRET_SETTINGS:
            if values[name]:
                values[name] = "****"
        return values


def load_settings(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from flags (None values ignored), then CROWDLOOP_* variables, then defaults."""
    flags = flags or {}
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = flags.get(setting.name)
        if raw is None and setting.env in env:
            raw = env[setting.env]
        if raw is None:
            continue
        try:
            values[setting.name] = setting.kind(raw)
        except ValueError as exc:
            raise ValueError(
                f"setting {setting.name} ({setting.env}): {raw!r} is not a valid {setting.kind.__name__}"
            ) from exc
    settings = Settings(**values)
    if settings.auth not in ("sigv4", "off"):
        raise ValueError(
            f"setting auth ({SETTINGS_BY_NAME['auth'].env}) must be 'sigv4' or 'off', not {settings.auth!r}"
        )
    if settings.public_scheme not in ("http", "https"):
        raise ValueError(
            f"setting public_scheme ({SETTINGS_BY_NAME['public_scheme'].env}) must be 'http' or "
            f"'https', not {settings.public_scheme!r}"
        )
    if not 0 < settings.request_timeout_seconds < float("inf"):
        raise ValueError(
            f"setting request_timeout_seconds ({SETTINGS_BY_NAME['request_timeout_seconds'].env}) "
            f"must be a positive number of seconds, not {settings.request_timeout_seconds!r}"
        )
    frame_origin = settings.task_frame_origin
    if frame_origin and (
        not _ORIGIN.fullmatch(frame_origin) or "*" in frame_origin or frame_origin == settings.portal_url
    ):
        raise ValueError(
            f"setting task_frame_origin ({SETTINGS_BY_NAME['task_frame_origin'].env}): "
            f"{settings.task_frame_origin!r} must be an origin like https://host[:port] other than "
            f"the portal's own ({settings.portal_url})"
        )
    for source in settings.frame_sources:
        if not _ORIGIN.fullmatch(source):
            raise ValueError(
                f"setting task_frame_sources ({SETTINGS_BY_NAME['task_frame_sources'].env}): "
                f"{source!r} is not an origin like https://host or https://host:port"
            )
    return settings


_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
