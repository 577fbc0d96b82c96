"""The server's URL space: every route path it answers and every URL it hands out.

Route paths are written here once, in Starlette's syntax (`/tasks/{assignment:id}`); the portal declares
its routes with them and links are filled in from the same strings (`fill`), so a route and the links to
it cannot drift apart. Paths are relative (portal pages, redirects); `PublicUrls` makes the absolute URLs
that leave the server (invitation links, DescribeHumanTaskUi's template URL, signed blob URLs, the OIDC
redirect URI) from the public base URL (Settings.portal_url: public_scheme + public_host).

Which part of the server answers a request (the AWS APIs, the /_crowdloop/ endpoints, the portal) is
decided once per request by crowdloop.dispatch, from the prefixes below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from crowdloop.config import Settings

# --- the worker portal (crowdloop.portal.app) ----------------------------------------------------------
HOME = "/"
SIGNIN = "/signin"
SIGNOUT = "/signout"
OIDC_START = "/signin/oidc/{workforce:id}"
OIDC_CALLBACK = "/signin/oidc/callback"
INVITATION = "/invite/{token}"
JOB_START = "/jobs/{job:id}/start"
JOB_EMPTY = "/jobs/{job:id}/empty"
TASK = "/tasks/{assignment:id}"
TASK_FRAME = "/tasks/{assignment:id}/frame"
TASK_SUBMIT = "/tasks/{assignment:id}/submit"
TASK_RELEASE = "/tasks/{assignment:id}/release"
TASK_DECLINE = "/tasks/{assignment:id}/decline"
# A gold item's task (crowdloop.gold): the same pages at addresses of their own, its id a gold lease's (named
# `check`, so that whatever answers a request knows which kind of id it has: crowdloop.portal.errors)
GOLD_TASK = "/tasks/check/{check:id}"
GOLD_TASK_FRAME = GOLD_TASK + "/frame"
GOLD_TASK_SUBMIT = GOLD_TASK + "/submit"
GOLD_TASK_RELEASE = GOLD_TASK + "/release"
GOLD_TASK_DECLINE = GOLD_TASK + "/decline"
STATIC = "/static/{name:path}"
LANGUAGE = "/language"  # ?to=<code>&next=<path>: the language switcher (a preference cookie)
STATIC_PREFIX = "/static/"
AWS_ASSETS_PREFIX = STATIC_PREFIX + "aws/"  # + the path under https://assets.crowd.aws/ (portal.static)
CDN_PREFIX = STATIC_PREFIX + "cdn/"  # + host/path of a crowdloop.cdnlibs URL (portal.static)

# --- crowdloop's own endpoints (crowdloop.app) ---------------------------------------------------------
INTERNAL_PREFIX = "/_crowdloop/"
HEALTH = INTERNAL_PREFIX + "health"  # the process answers
READY = INTERNAL_PREFIX + "ready"  # ... and its store is reachable at the schema it needs
NOOP = INTERNAL_PREFIX + "noop"
TEMPLATES_PREFIX = INTERNAL_PREFIX + "templates/"  # + the template's SHA-256
TEMPLATE = TEMPLATES_PREFIX + "{sha256}"
BLOBS_PREFIX = INTERNAL_PREFIX + "blobs/"  # + bucket/key?expires=&signature=
BLOB = BLOBS_PREFIX + "{bucket}/{key:path}"

# --- the events API and the live stream (crowdloop.eventsapi) ------------------------------------------
EVENTS_API_PREFIX = INTERNAL_PREFIX + "v1/"
SUBSCRIPTIONS = EVENTS_API_PREFIX + "subscriptions"
SUBSCRIPTION = SUBSCRIPTIONS + "/{subscription:int}"
SUBSCRIPTION_DELIVERIES = SUBSCRIPTION + "/deliveries"  # ?state=&before=&limit=
SUBSCRIPTION_REDELIVER_FAILED = SUBSCRIPTION + "/redeliver-failed"
DELIVERY = EVENTS_API_PREFIX + "deliveries/{delivery:int}"
DELIVERY_REDELIVER = DELIVERY + "/redeliver"
EVENT_STREAM = "/events/stream"  # Server-Sent Events: ?pattern=&after= or Last-Event-ID
LABELING_JOB_OBJECTS = EVENTS_API_PREFIX + "labeling-jobs/{name}/objects"  # a streaming job's new data objects


def is_events_api(path: str) -> bool:
    """The events API (crowdloop.eventsapi) answers this path (crowdloop.dispatch)."""
    return path in (EVENT_STREAM, CONSOLE_EVENT_STREAM) or path.startswith(EVENTS_API_PREFIX)


# --- the requester console (crowdloop.console.app) -----------------------------------------------------
# Each part of the console declares its paths in a block of its own below core's.
# console: core
CONSOLE = "/console"
# The live stream again, under the console's path: the console's session cookie (Path=/console) reaches it, so
# the console's EventSource uses this one (answered by crowdloop.eventsapi like EVENT_STREAM).
CONSOLE_EVENT_STREAM = CONSOLE + "/events/stream"
CONSOLE_PREFIX = CONSOLE + "/"
CONSOLE_SIGNIN = CONSOLE + "/signin"
CONSOLE_SIGNOUT = CONSOLE + "/signout"
CONSOLE_LINK = CONSOLE + "/link"  # ?token= (a one-time sign-in link)
CONSOLE_OVERVIEW_API = CONSOLE + "/api/overview"
CONSOLE_STATIC = CONSOLE + "/static/{name:path}"
CONSOLE_STATIC_PREFIX = CONSOLE + "/static/"
# the header's navigation targets (their pages belong to the people and loops parts)
CONSOLE_WORKERS = CONSOLE + "/workers"
CONSOLE_TEAMS = CONSOLE + "/teams"
CONSOLE_TEMPLATES = CONSOLE + "/templates"
CONSOLE_DOCS = "https://github.com/crowdloop/crowdloop/blob/main/docs/console.md"  # the empty state links here
# console: loops (crowdloop.console.flows, .loops, .templates_pages, .frames)
CONSOLE_FLOW = CONSOLE + "/flows/{flow}"  # ?status=&name=&after=&before=&cursor= (the loops table)
CONSOLE_FLOW_API = CONSOLE + "/api/flows/{flow}"  # the flow page's live numbers
CONSOLE_LOOP = CONSOLE + "/flows/{flow}/loops/{loop}"
CONSOLE_LOOP_STOP = CONSOLE + "/flows/{flow}/loops/{loop}/stop"  # GET: confirm; POST: stop
CONSOLE_LOOP_DELETE = CONSOLE + "/flows/{flow}/loops/{loop}/delete"  # GET: confirm; POST: delete
CONSOLE_GOLD = CONSOLE + "/flows/{flow}/gold"  # ?after=<item id> (the items, keyset pages)
CONSOLE_GOLD_ADD = CONSOLE_GOLD + "/add"  # POST (multipart): a JSONL file or pasted lines
CONSOLE_GOLD_RETIRE = CONSOLE_GOLD + "/retire"  # GET ?item=: confirm; POST item=: retire
CONSOLE_GOLD_RESUME = CONSOLE_GOLD + "/resume"  # GET ?worker=<email>: confirm; POST worker=: resume
CONSOLE_TEMPLATE = CONSOLE + "/templates/{ui}"  # ?input= (the preview's sample input)
CONSOLE_TEMPLATE_PREVIEW_API = CONSOLE + "/api/templates/{ui}/preview"  # ?input= -> frame URL + errors
# the sandboxed frames: authorised by a signed token in the URL (no cookies), served on the frame host too
CONSOLE_ANSWER_FRAME = CONSOLE + "/frames/answers/{assignment:int}"  # ?expires=&token=
CONSOLE_PREVIEW_FRAME = CONSOLE + "/frames/preview/{ui}"  # ?input=&expires=&token=
CONSOLE_FRAMES_PREFIX = CONSOLE + "/frames/"
# console: insights (crowdloop.console.downloads: the flow page's downloads and agreement figures)
CONSOLE_DOWNLOADS = CONSOLE + "/flows/{flow}/downloads"  # POST format=: start preparing an export
CONSOLE_DOWNLOAD = CONSOLE + "/downloads/{job}"  # the download's page (without script: refreshes itself)
CONSOLE_DOWNLOAD_API = CONSOLE + "/api/downloads/{job}"  # its progress as JSON (the flow page polls it)
CONSOLE_DOWNLOAD_FILE = CONSOLE + "/downloads/{job}/file"  # the finished file
CONSOLE_AGREEMENT_API = CONSOLE + "/api/flows/{flow}/agreement"  # the flow's agreement summary as JSON

# --- the Prometheus metrics (crowdloop.metrics_http; only when metrics_token is set) ----------------------
METRICS = "/metrics"
# console: people (CONSOLE_WORKERS and CONSOLE_TEAMS above are the lists; ?after=<email> pages the workers)
CONSOLE_WORKERS_ADD = CONSOLE_WORKERS + "/add"
CONSOLE_WORKERS_INVITE = CONSOLE_WORKERS + "/invite"
CONSOLE_WORKERS_STATUS = CONSOLE_WORKERS + "/status"
CONSOLE_WORKERS_GROUPS = CONSOLE_WORKERS + "/groups"
CONSOLE_TEAMS_CREATE = CONSOLE_TEAMS + "/create"
CONSOLE_TEAM = CONSOLE_TEAMS + "/{name}"
CONSOLE_TEAM_UPDATE = CONSOLE_TEAMS + "/{name}/update"
CONSOLE_TEAM_DELETE = CONSOLE_TEAMS + "/{name}/delete"
# console: events (crowdloop.console.webhooks, .webhook_deliveries: subscriptions, deliveries, live panel)
CONSOLE_WEBHOOKS = CONSOLE + "/webhooks"
CONSOLE_WEBHOOKS_CREATE = CONSOLE_WEBHOOKS + "/create"
CONSOLE_WEBHOOK = CONSOLE_WEBHOOKS + "/{subscription:int}"  # ?state=&before= (its deliveries, newest first)
CONSOLE_WEBHOOK_DELETE = CONSOLE_WEBHOOKS + "/{subscription:int}/delete"  # GET: confirm; POST: delete
CONSOLE_WEBHOOK_REDELIVER_FAILED = CONSOLE_WEBHOOKS + "/{subscription:int}/redeliver-failed"
CONSOLE_DELIVERY = CONSOLE_WEBHOOKS + "/deliveries/{delivery:int}"
CONSOLE_DELIVERY_REDELIVER = CONSOLE_WEBHOOKS + "/deliveries/{delivery:int}/redeliver"
# console: labeling jobs (crowdloop.console.labelingjobs: Ground Truth jobs, their objects, Stop)
CONSOLE_LABELING_JOBS = CONSOLE + "/labeling-jobs"  # ?cursor= (newest first, keyset pages)
CONSOLE_LABELING_JOB = CONSOLE_LABELING_JOBS + "/{job}"  # ?state=&after=<datasetObjectId>&limit= (its objects)
CONSOLE_LABELING_JOB_STOP = CONSOLE_LABELING_JOBS + "/{job}/stop"  # GET: confirm; POST: stop

# --- the A2I runtime's restJson1 paths (the rest of its routes come from botocore's model) -------------
HUMAN_LOOPS = "/human-loops"

_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")


@cache
def _template(route: str) -> tuple[str, frozenset[str]]:
    """`route` as a str.format template, and the names of its `path` parameters (which keep their "/")."""
    paths = frozenset(m.group(1) for m in _PARAMETER.finditer(route) if m.group(2) == "path")
    return _PARAMETER.sub(r"{\1}", route), paths


def fill(route: str, **values: object) -> str:
    """The path of `route` with its parameters filled in, each percent-encoded (a `path` parameter keeps
    its "/"): fill(TASK, assignment=7) == "/tasks/7"."""
    template, paths = _template(route)
    return template.format(**{k: _encode(v, k in paths) for k, v in values.items()})


def _encode(value: object, path: bool) -> str:
    if isinstance(value, int):  # ids: nothing to encode (the common case, on every task page)
        return str(value)
    return quote(str(value), safe="/" if path else "")


_PATTERNS = {"id": r"\d+", "path": ".*"}


def pattern(route: str) -> str:
    """A regular expression for the paths of `route` (for matching outside a router)."""
    parts, last = [], 0
    for m in _PARAMETER.finditer(route):
        parts += [re.escape(route[last : m.start()]), _PATTERNS.get(m.group(2) or "", "[^/]+")]
        last = m.end()
    return "".join(parts) + re.escape(route[last:])


# --- portal paths ---------------------------------------------------------------------------------------


def home(notice: str | None = None) -> str:
    return HOME if notice is None else f"{HOME}?notice={quote(notice)}"


def signin(*, next_path: str | None = None, signed_out: int | None = None) -> str:
    """The sign-in page; next_path: where to go after signing in; signed_out: the workforce whose OIDC
    worker just signed out (the page links to the provider's sign-out)."""
    if next_path is not None:
        return f"{SIGNIN}?next={quote(next_path, safe='/')}"
    if signed_out is not None:
        return f"{SIGNIN}?signed_out={signed_out}"
    return SIGNIN


def oidc_start(workforce_id: int, next_path: str = HOME) -> str:
    path = fill(OIDC_START, workforce=workforce_id)
    return path if next_path == HOME else f"{path}?next={quote(next_path, safe='/')}"


def job_start(job_id: int) -> str:
    return fill(JOB_START, job=job_id)


def job_empty(job_id: int) -> str:
    return fill(JOB_EMPTY, job=job_id)


def task(assignment_id: int, gold: bool = False) -> str:
    """A task page; gold: the id is a gold item lease's (GOLD_TASK)."""
    return fill(GOLD_TASK, check=assignment_id) if gold else fill(TASK, assignment=assignment_id)


def task_frame(assignment_id: int, token: str, origin: str = "", gold: bool = False, lang: str = "") -> str:
    """The task frame document; origin: task_frame_origin when frames come from another origin; lang: the
    page's language (the frame may come from an origin the language cookie is not sent to)."""
    path = fill(GOLD_TASK_FRAME, check=assignment_id) if gold else fill(TASK_FRAME, assignment=assignment_id)
    return f"{origin}{path}?" + (f"lang={quote(lang)}&" if lang else "") + f"token={token}"


def language(code: str, next_path: str) -> str:
    """The language switcher (the portal's; the console links to it too): choose `code`, then go back to
    next_path."""
    return f"{LANGUAGE}?to={quote(code)}&next={quote(next_path, safe='')}"


def task_submit(assignment_id: int, gold: bool = False) -> str:
    return fill(GOLD_TASK_SUBMIT, check=assignment_id) if gold else fill(TASK_SUBMIT, assignment=assignment_id)


def task_release(assignment_id: int, gold: bool = False) -> str:
    return fill(GOLD_TASK_RELEASE, check=assignment_id) if gold else fill(TASK_RELEASE, assignment=assignment_id)


def task_decline(assignment_id: int, gold: bool = False) -> str:
    return fill(GOLD_TASK_DECLINE, check=assignment_id) if gold else fill(TASK_DECLINE, assignment=assignment_id)


def static(name: str, version: str) -> str:
    return f"{fill(STATIC, name=name)}?v={version}"


# --- console paths --------------------------------------------------------------------------------------


def is_console(path: str) -> bool:
    """The console answers this path (crowdloop.dispatch)."""
    return path == CONSOLE or path.startswith(CONSOLE_PREFIX)


def console_signin(*, next_path: str | None = None) -> str:
    """The console's sign-in page; next_path: the console page to go to after signing in."""
    if next_path is not None and next_path != CONSOLE:
        return f"{CONSOLE_SIGNIN}?next={quote(next_path, safe='/')}"
    return CONSOLE_SIGNIN


def console_static(name: str, version: str) -> str:
    return f"{fill(CONSOLE_STATIC, name=name)}?v={version}"


# --- absolute URLs that leave the server ----------------------------------------------------------------


@dataclass(frozen=True)
class PublicUrls:
    """Absolute URLs on the server as workers and requesters reach it. base: scheme://host[:port]."""

    base: str

    @classmethod
    def of(cls, settings: Settings) -> PublicUrls:
        return cls(settings.portal_url)

    def signin(self) -> str:
        return self.base + SIGNIN

    def invitation(self, token: str) -> str:
        return self.base + fill(INVITATION, token=token)

    def template(self, sha256: str) -> str:
        return self.base + fill(TEMPLATE, sha256=sha256)

    def blob(self, bucket: str, key: str, expires: int, signature: str) -> str:
        return f"{self.base}{fill(BLOB, bucket=bucket, key=key)}?expires={expires}&signature={signature}"

    def console_link(self, token: str) -> str:
        """A one-time console sign-in link (crowdloop.consoleauth.create_link)."""
        return f"{self.base}{CONSOLE_LINK}?token={quote(token, safe='')}"

    def oidc_callback(self) -> str:
        """The redirect URI to register at a workforce's identity provider."""
        return self.base + OIDC_CALLBACK
