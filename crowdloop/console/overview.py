"""The overview (`/console`): every flow definition of the account with its progress, and the JSON the
page polls to update itself in place (`/console/api/overview`)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import flows, urls
from crowdloop.console.web import ConsoleVisit, console_page
from crowdloop.flows import FlowDefinition

MAX_FLOWS = 1000  # shown on the overview (the flow page has the rest); pages of 100 from the listing


def _flows(visit: ConsoleVisit) -> list[FlowDefinition]:
    found: list[FlowDefinition] = []
    token: str | None = None
    while len(found) < MAX_FLOWS:
        page = flows.list_flow_definitions(
            visit.svc, visit.caller, max_results=100, next_token=token, sort_order="Ascending"
        )
        found += page.items
        token = page.next_token
        if token is None:
            break
    return sorted(found, key=lambda flow: flow.name)


def _flow_json(flow: FlowDefinition) -> dict[str, Any]:
    return {"name": flow.name, "status": flow.status.value, "created_at": flow.created_at.isoformat()}


@console_page
def overview(visit: ConsoleVisit) -> Response:
    return visit.page("overview.html", title="Overview", flows=_flows(visit))


@console_page
def overview_json(visit: ConsoleVisit) -> Response:
    return visit.json({"flows": [_flow_json(flow) for flow in _flows(visit)]})


ROUTES = [
    Route(urls.CONSOLE, overview, methods=["GET"]),
    Route(urls.CONSOLE_OVERVIEW_API, overview_json, methods=["GET"]),
]
