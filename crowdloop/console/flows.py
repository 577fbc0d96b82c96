"""The flow page (`/console/flows/{flow}`): the flow definition's status and progress, its loops table
(status filter, name search, creation-time range: a GET form, so every view is a bookmarkable URL; keyset
pages through loopsearch.search_loops), the per-worker table, the agreement summary, the downloads and the gold
items card (gold.summary; its page is crowdloop.console.goldpage); and the
JSON the page polls to update its numbers in place (`/console/api/flows/{flow}`).

Query parameters of the page, each checked (400 otherwise): status (a HumanLoopStatus or empty), name (a
loop name prefix: letters, digits, hyphens, at most 63), after / before (YYYY-MM-DDTHH:MM[:SS], UTC, as a
datetime-local field sends them), cursor (the signed position the "Next page" link carries, at most
MAX_CURSOR_CHARS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import Route

from crowdloop import gold, loopsearch, urls
from crowdloop.console import downloads, flowlive, fmt
from crowdloop.console.web import ConsoleVisit, console_page
from crowdloop.errors import InvalidInput
from crowdloop.i18n import N_
from crowdloop.model import HumanLoopStatus

PAGE_SIZE = 50
MAX_CURSOR_CHARS = 512
MAX_NAME_CHARS = 63
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class LoopFilters:
    """The loops table's filters as the form sends them (text) and as the search takes them."""

    status: str = ""
    name: str = ""
    after: str = ""
    before: str = ""

    def query(self, **more: str) -> str:
        """The page's query string for these filters (empty ones left out) plus `more`."""
        pairs = {"status": self.status, "name": self.name, "after": self.after, "before": self.before, **more}
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def any(self) -> bool:
        return bool(self.status or self.name or self.after or self.before)


def read_filters(params: QueryParams) -> LoopFilters:
    status = params.get("status", "")
    if status and status not in {s.value for s in HumanLoopStatus}:
        raise InvalidInput("status must be one of " + ", ".join(s.value for s in HumanLoopStatus) + ".", "status")
    name = params.get("name", "").strip()
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"A loop name prefix has at most {MAX_NAME_CHARS} characters.", "name")
    after, before = params.get("after", "").strip(), params.get("before", "").strip()
    for field, value in (("after", after), ("before", before)):
        if value:
            parse_time(value, field)
    return LoopFilters(status, name, after, before)


def parse_time(text: str, field: str) -> datetime:
    if len(text) <= 19:
        for pattern in _TIME_FORMATS:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise InvalidInput(f"{field} must be a date and time like 2026-01-31T14:30 (UTC).", field)


def _cursor(params: QueryParams) -> str | None:
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidInput(N_("Invalid cursor: it was not issued by this server for this search."), "cursor")
    return cursor


def _flow_name(visit: ConsoleVisit) -> str:
    name = str(visit.request.path_params["flow"])
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"A flow definition name has at most {MAX_NAME_CHARS} characters.", "flow")
    return name


@console_page
def flow_page(visit: ConsoleVisit) -> Response:
    name = _flow_name(visit)
    live = flowlive.read(
        visit.svc, visit.caller, name, visit.language
    )  # NotFound for an unknown flow; reads counters only
    params = visit.request.query_params
    filters = read_filters(params)
    cursor = _cursor(params)
    rows, next_cursor = loopsearch.search_loops(
        visit.svc,
        visit.caller,
        name,
        status=HumanLoopStatus(filters.status) if filters.status else None,
        name_prefix=filters.name or None,
        created_after=parse_time(filters.after, "after") if filters.after else None,
        created_before=parse_time(filters.before, "before") if filters.before else None,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    here = urls.fill(urls.CONSOLE_FLOW, flow=name)
    first_query = filters.query()
    return visit.page(
        "flow.html",
        title=name,
        flow=live.progress,
        live=live,
        **downloads.panel(name, live.summary),
        gold_summary=gold.summary(visit.svc, visit.caller, name),
        filters=filters,
        statuses=fmt.LOOP_STATUSES,
        rows=rows,
        paged=cursor is not None,
        first_url=here + (f"?{first_query}" if first_query else ""),
        next_url=None if next_cursor is None else f"{here}?{filters.query(cursor=next_cursor)}",
        deleted=params.get("deleted", "")[:MAX_NAME_CHARS],
        here=here,
        api_url=urls.fill(urls.CONSOLE_FLOW_API, flow=name),
    )


@console_page
def flow_json(visit: ConsoleVisit) -> Response:
    return visit.json(flowlive.read(visit.svc, visit.caller, _flow_name(visit), visit.language).as_json())


ROUTES = [
    Route(urls.CONSOLE_FLOW, flow_page, methods=["GET"]),
    Route(urls.CONSOLE_FLOW_API, flow_json, methods=["GET"]),
]
