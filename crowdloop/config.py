"""Settings: command-line flags override CROWDLOOP_* environment variables, which override defaults.

Each setting is written once, as a field of `Settings`: its name, type, default and help. `SETTINGS`, the
table the CLI options, the docs check and `load_settings` read, is generated from those fields, so no
default is written twice. docs/settings.md is checked against the table by a test, so a new setting
cannot go undocumented. Secret settings have the type `Secret` (or `SecretUrl`): they print masked.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from crowdloop.errors import InvalidInput
from crowdloop.events import check_source
from crowdloop.labeling.lambdas import parse_lambda_mapping
from crowdloop.secret import Secret, SecretUrl


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any  # as a user writes it (a secret's default is a plain str, made a Secret by Settings)
    help: str
    kind: type = str
    server: bool = True  # an option of `crowdloop serve`; False: only of the tool that uses it

    @property
    def env(self) -> str:
        return "CROWDLOOP_" + self.name.upper()

    @property
    def flag_type(self) -> type:
        """The type a command-line flag parses (a secret is typed as text, and made a Secret by Settings)."""
        return str if issubclass(self.kind, Secret) else self.kind


def _setting(default: Any, help: str, *, server: bool = True) -> Any:
    """A Settings field: its default and help (the type is the field's annotation)."""
    return field(default=default, metadata={"help": help, "server": server})


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "Address the server listens on.")
    port: int = _setting(8080, "TCP port the server listens on.")
    data_dir: str = _setting("./crowdloop-data", "Directory for the SQLite database, local output and keys.")
    database_url: SecretUrl = _setting(  # noqa: RUF009 (_setting makes a field(); ruff knows str, not SecretUrl)
        "",
        "SQLAlchemy URL of the store; empty means sqlite:///<data_dir>/crowdloop.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db (the password is masked in output and logs).",
    )
    output_dir: str = _setting(
        "", "Folder of the built-in output store (served through the S3 API); empty means <data_dir>/output."
    )
    s3_endpoint_url: str = _setting(
        "",
        "Write output.json to this S3-compatible service instead of the local "
        "folder (e.g. http://127.0.0.1:9000). Uses s3_access_key_id/s3_secret_access_key.",
    )
    s3_access_key_id: str = _setting("", "Access key for s3_endpoint_url.")
    s3_secret_access_key: Secret = _setting(  # noqa: RUF009 (as above)
        "", "Secret key for s3_endpoint_url (masked in output and logs)."
    )
    s3_region: str = _setting("us-east-1", "Region used to sign requests to s3_endpoint_url.")
    s3_max_object_bytes: int = _setting(
        5 * 1024**3,
        "Largest body of one PutObject or UploadPart request to the built-in S3 API (EntityTooLarge above it; "
        "S3's own limit is 5 GiB). Bodies are streamed to disk, never held in memory; a multipart upload's "
        "object may be up to 10,000 such parts.",
    )
    auth: str = _setting(
        "sigv4",
        "API authentication: 'sigv4' (verify every request's signature) or 'off' "
        "(accept unsigned requests, except from web pages of other origins and for Host names not the "
        "server's own; for local experiments only, logged loudly).",
    )
    region: str = _setting(
        "us-east-1", "Region printed in the export lines; resources live in the region each request is signed for."
    )
    account_id: str = _setting(
        "123456789012",
        "The one AWS account the server serves (12 digits): its access keys, "
        "ARNs and caller identity; keys of any other account are refused and `serve` will not start on a store "
        "holding another account's data.",
    )
    public_host: str = _setting(
        "", "Host[:port] of the worker portal as returned in SubDomain; empty means <host>:<port>."
    )
    public_scheme: str = _setting(
        "",
        "Scheme of the portal's public address in invitation links, template and "
        "blob URLs and identity data: 'https' when a TLS proxy serves the portal. Empty: 'https' when crowdloop "
        "serves TLS itself (tls, tls_cert), else 'http'.",
    )
    tls: str = _setting(
        "",
        "'self-signed': serve HTTPS with a certificate crowdloop makes once and keeps in <data_dir>/tls (for "
        "localhost, 127.0.0.1, host and public_host; renewed when it nears its end or the names change), for "
        "local use. Empty: plain HTTP unless tls_cert is set.",
    )
    tls_cert: str = _setting(
        "", "PEM file of the certificate (chain) to serve HTTPS with (with tls_key); empty: no certificate file."
    )
    tls_key: str = _setting("", "PEM file of tls_cert's private key.")
    task_frame_sources: str = _setting(
        "",
        "Extra origins the task frame may load images, media, frames and fetches "
        "from, separated by spaces or commas (e.g. 'https://www.youtube.com https://my-bucket.s3.amazonaws.com'): "
        "for templates that show URLs the loop's input gives. Empty: only grant_read_access URLs and what the "
        "template itself names.",
    )
    task_frame_origin: str = _setting(
        "",
        "Serve the task frame from this other origin of the same server (e.g. "
        "'http://localhost:8080' when workers use http://127.0.0.1:8080, or 'https://tasks.example.org'): "
        "the frame is then cross-origin without the sandbox attribute, so PDF viewers and dialogs work. "
        "Empty: a sandboxed frame on the portal's own origin.",
    )
    max_in_progress_loops: int = _setting(
        100000,
        "Quota of concurrently InProgress human loops per account "
        "(StartHumanLoop answers ServiceQuotaExceededException above it).",
    )
    signature_window_seconds: int = _setting(900, "How far X-Amz-Date may be from the server's clock.")
    workers: int = _setting(
        1,
        'Server processes `serve` runs on its one port (PostgreSQL only; docs/deployment.md "Several processes '
        'on one machine"). About one per CPU core; more servers on other machines may share the database too.',
    )
    reaper_interval_seconds: float = _setting(5.0, "How often expired leases and loops are swept.")
    request_timeout_seconds: float = _setting(
        30.0,
        "Time a client has to send one complete request (headers and body) "
        "after connecting or after the previous response; slower or idle connections are closed.",
    )
    render_time_limit_seconds: float = _setting(
        2.0,
        "CPU time one template render may use (RenderUiTemplate, the task "
        "frame, previews); a template that needs more fails with a clear error instead of stalling the server.",
    )
    console_agreement_interval_seconds: float = _setting(
        30.0,
        "Least time between two computations of a flow's agreement statistics for the console (in the "
        "background, when answers arrived since the last one).",
    )
    events_source: str = _setting(
        "crowdloop",
        "The `source` of crowdloop's own events (docs/events.md), and of the A2I status change events sent "
        "to a real EventBridge bus, which refuses `aws.*` sources from customers; may not begin with 'aws.'.",
    )
    webhook_retry_hours: float = _setting(
        24.0,
        "How long a webhook delivery is retried (exponential backoff with jitter, waits up to 1 h) from its "
        "first attempt before it is marked failed.",
    )
    webhook_allow_private_targets: bool = _setting(
        False,
        "Allow webhook URLs whose host is or resolves to a loopback, private, link-local or otherwise "
        "non-public address (refused by default: a subscriber could otherwise make the server call internal "
        "services).",
    )
    event_delivery: str = _setting(
        "process",
        "Where `serve` fans out and delivers events: 'process' (a child process of its own: delivery never takes "
        "CPU time or the interpreter lock from the API and the portal) or 'threads' (threads of the server process).",
    )
    webhook_timeout_seconds: float = _setting(
        10.0,
        "How long one delivery attempt may take (connecting, sending, and the receiver's whole answer) before "
        "it counts as failed and is retried later.",
    )
    webhook_concurrency: int = _setting(
        4,
        "Deliveries sent at once to one subscription's target, per server process (a slow receiver holds at "
        "most this many of the process's delivery threads).",
    )
    webhook_threads: int = _setting(
        16, "Threads per server process that send event deliveries (webhooks, EventBridge, SNS)."
    )
    events_retention_days: float = _setting(
        7.0,
        "How long the event log and finished deliveries are kept (the live stream's replay, the console's and "
        "`crowdloop webhooks deliveries`' history). Pending deliveries and their events are kept until they end.",
    )
    labeling_lambdas: str = _setting(
        "",
        "Where the custom pre-/post-annotation Lambdas of labeling jobs run: a JSON object mapping each Lambda "
        'ARN (or a pattern where * matches any text) to "python:package.module:function" or an http(s) URL the '
        "event is POSTed to as JSON, or @/path/file.json naming a file holding that object. Empty: none (jobs "
        "naming an unmapped custom Lambda fail).",
    )
    labeling_lambda_timeout_seconds: float = _setting(
        30.0,
        "How long one HTTP call of a labeling-job Lambda may take (connecting, sending, the whole answer) "
        "before it counts as failed.",
    )
    labeling_lambda_attempts: int = _setting(
        3,
        "Tries of one labeling-job Lambda call that times out, cannot connect or answers HTTP 5xx/429 "
        "(waits of 0.25 s, 0.5 s, 1 s, … up to 2 s between them). 1 to 10.",
    )
    labeling_task_events: bool = _setting(
        False,
        "Send 'SageMaker Ground Truth Labeling Job Task Status Change' events when a worker accepts, submits, "
        "declines or returns a labeling job's task (AWS publishes no sample of this event: its shape is inferred).",
    )
    log_level: str = _setting("info", "Log level: debug, info, warning, error.")
    log_format: str = _setting(
        "text",
        "Log lines of `serve`: 'text', or 'json' (one JSON object per line: time, level, logger, message, and the "
        "request_id of the request it was written for, also sent back in the X-Request-Id header).",
    )
    metrics_token: Secret = _setting(  # noqa: RUF009 (as above)
        "",
        "Bearer token of GET /metrics (Prometheus text format, docs/metrics.md): scrapers send "
        "`Authorization: Bearer <token>`. Empty: no /metrics at all (404) and nothing is measured.",
    )
    cdn_cache: str = _setting(
        "",
        "Folder where the CDN libraries templates load (crowdloop.cdnlibs) are kept once fetched with "
        "`npm pack`; empty means ~/.cache/crowdloop/cdn.",
    )
    chromium: str = _setting(
        "",
        "Chromium executable `crowdloop gallery` screenshots with; empty means /usr/bin/chromium when it "
        "exists, else Playwright's own browser.",
        server=False,
    )

    def __post_init__(self) -> None:
        for name, kind in _SECRET_KINDS.items():  # Settings(database_url="...") keeps its value masked
            value = getattr(self, name)
            if type(value) is not kind:
                object.__setattr__(self, name, kind(value))

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """The store's URL, password included: give it to the database driver only (str(settings.
        database_url) or `shown_database_url` to show it)."""
        return self.database_url.reveal() or f"sqlite:///{self.data_path / 'crowdloop.db'}"

    @property
    def uses_postgresql(self) -> bool:
        from sqlalchemy.engine import make_url

        return make_url(self.resolved_database_url).get_backend_name() == "postgresql"

    @property
    def shown_database_url(self) -> str:
        """The store's URL with its password masked, to print or log."""
        return str(self.database_url) or f"sqlite:///{self.data_path / 'crowdloop.db'}"

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir).expanduser().resolve() if self.output_dir else self.data_path / "output"

    @property
    def cdn_cache_path(self) -> Path:
        return Path(self.cdn_cache).expanduser() if self.cdn_cache else Path.home() / ".cache" / "crowdloop" / "cdn"

    @property
    def chromium_path(self) -> str | None:
        """The chromium setting, or Debian's Chromium; None lets Playwright use its own browser."""
        if self.chromium:
            return self.chromium
        return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None

    @property
    def labeling_lambda_map(self) -> dict[str, str]:
        """labeling_lambdas as {ARN or pattern: target} (a @file is read again each time: build the invoker
        once)."""
        return parse_lambda_mapping(self.labeling_lambdas)

    @property
    def portal_host(self) -> str:
        return self.public_host or f"{self.host}:{self.port}"

    @property
    def serves_tls(self) -> bool:
        """Whether `serve` speaks HTTPS itself (tls=self-signed, or tls_cert and tls_key)."""
        return bool(self.tls or self.tls_cert)

    @property
    def scheme(self) -> str:
        """The portal's public scheme: public_scheme, else https when serving TLS, else http."""
        return self.public_scheme or ("https" if self.serves_tls else "http")

    @property
    def portal_url(self) -> str:
        """scheme://host[:port] of the worker portal as workers reach it."""
        return f"{self.scheme}://{self.portal_host}"

    @property
    def frame_sources(self) -> tuple[str, ...]:
        """task_frame_sources as a list of origins."""
        return tuple(source for source in re.split(r"[\s,]+", self.task_frame_sources) if source)

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.serves_tls else 'http'}://{self.host}:{self.port}"

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets masked, for logs."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: str(value) if isinstance(value, Secret) else value for name, value in values.items()}


def _table() -> tuple[Setting, ...]:
    kinds = get_type_hints(Settings)
    table = []
    for f in dataclasses.fields(Settings):
        kind = kinds[f.name]
        if not isinstance(f.default, str if issubclass(kind, Secret) else kind):  # a secret's default: a str
            raise TypeError(f"setting {f.name}: default {f.default!r} is not a {kind.__name__}")
        table.append(Setting(f.name, f.default, f.metadata["help"], kind, f.metadata["server"]))
    return tuple(table)


_SECRET_KINDS: dict[str, type[Secret]] = {
    name: kind for name, kind in get_type_hints(Settings).items() if isinstance(kind, type) and issubclass(kind, Secret)
}
SETTINGS: tuple[Setting, ...] = _table()
SERVER_SETTINGS = tuple(s.name for s in SETTINGS if s.server)


def set_in_environment(names: Iterable[str], env: Mapping[str, str] | None = None) -> bool:
    """Whether a CROWDLOOP_* variable gives any of these settings."""
    env = os.environ if env is None else env
    return any(SETTINGS_BY_NAME[name].env in env for name in names)


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with `extra` added, for a child process (crowdloop.server's server
    processes: prometheus_client reads its multi-process folder from the environment)."""
    return {**os.environ, **extra}


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
            values[setting.name] = _parse_bool(raw) if setting.kind is bool else setting.kind(raw)
        except ValueError as exc:
            raise ValueError(
                f"setting {setting.name} ({setting.env}): {raw!r} is not a valid {setting.kind.__name__}"
            ) from exc
    settings = Settings(**values)
    if settings.auth not in ("sigv4", "off"):
        raise ValueError(
            f"setting auth ({SETTINGS_BY_NAME['auth'].env}) must be 'sigv4' or 'off', not {settings.auth!r}"
        )
    if settings.event_delivery not in ("process", "threads"):
        raise ValueError(
            f"setting event_delivery ({SETTINGS_BY_NAME['event_delivery'].env}) must be 'process' or 'threads', "
            f"not {settings.event_delivery!r}"
        )
    if settings.log_format not in ("text", "json"):
        raise ValueError(
            f"setting log_format ({SETTINGS_BY_NAME['log_format'].env}) must be 'text' or 'json', "
            f"not {settings.log_format!r}"
        )
    if settings.workers < 1:
        raise ValueError(
            f"setting workers ({SETTINGS_BY_NAME['workers'].env}) must be 1 or more, not {settings.workers}"
        )
    if settings.tls not in ("", "self-signed"):
        raise ValueError(
            f"setting tls ({SETTINGS_BY_NAME['tls'].env}) must be 'self-signed' or empty, not {settings.tls!r}"
        )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValueError(
            f"settings tls_cert ({SETTINGS_BY_NAME['tls_cert'].env}) and tls_key ({SETTINGS_BY_NAME['tls_key'].env}) "
            "go together: give both files or neither"
        )
    if settings.tls and settings.tls_cert:
        raise ValueError("give either tls=self-signed or tls_cert/tls_key, not both")
    if settings.public_scheme not in ("", "http", "https"):
        raise ValueError(
            f"setting public_scheme ({SETTINGS_BY_NAME['public_scheme'].env}) must be 'http' or "
            f"'https', not {settings.public_scheme!r}"
        )
    if settings.s3_max_object_bytes < 1:
        raise ValueError(
            f"setting s3_max_object_bytes ({SETTINGS_BY_NAME['s3_max_object_bytes'].env}) must be 1 or more, "
            f"not {settings.s3_max_object_bytes}"
        )
    if not 0 < settings.request_timeout_seconds < float("inf"):
        raise ValueError(
            f"setting request_timeout_seconds ({SETTINGS_BY_NAME['request_timeout_seconds'].env}) "
            f"must be a positive number of seconds, not {settings.request_timeout_seconds!r}"
        )
    try:
        check_source(settings.events_source, "events_source")
    except InvalidInput as exc:
        raise ValueError(f"setting events_source ({SETTINGS_BY_NAME['events_source'].env}): {exc.message}") from None
    for name, unit in (
        ("webhook_retry_hours", "hours"),
        ("webhook_timeout_seconds", "seconds"),
        ("events_retention_days", "days"),
    ):
        if not 0 < getattr(settings, name) < float("inf"):
            raise ValueError(
                f"setting {name} ({SETTINGS_BY_NAME[name].env}) must be a positive number of {unit}, "
                f"not {getattr(settings, name)!r}"
            )
    if not 0 < settings.labeling_lambda_timeout_seconds < float("inf"):
        raise ValueError(
            f"setting labeling_lambda_timeout_seconds ({SETTINGS_BY_NAME['labeling_lambda_timeout_seconds'].env}) "
            f"must be a positive number of seconds, not {settings.labeling_lambda_timeout_seconds!r}"
        )
    if not 1 <= settings.labeling_lambda_attempts <= 10:
        raise ValueError(
            f"setting labeling_lambda_attempts ({SETTINGS_BY_NAME['labeling_lambda_attempts'].env}) must be a "
            f"whole number from 1 to 10, not {settings.labeling_lambda_attempts!r}"
        )
    try:
        parse_lambda_mapping(settings.labeling_lambdas)
    except ValueError as exc:
        raise ValueError(f"setting labeling_lambdas ({SETTINGS_BY_NAME['labeling_lambdas'].env}): {exc}") from None
    for name in ("webhook_concurrency", "webhook_threads"):
        if not 1 <= getattr(settings, name) <= 256:
            raise ValueError(
                f"setting {name} ({SETTINGS_BY_NAME[name].env}) must be a whole number from 1 to 256, "
                f"not {getattr(settings, name)!r}"
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


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_bool(raw: Any) -> bool:
    """A yes/no setting: a flag's bool, or an environment variable's true/false, 1/0, yes/no, on/off."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{raw!r} is not true or false")


_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
