"""The templates pages: `/console/templates` (every human task UI, with the flow definitions using it) and
`/console/templates/{ui}` (the template source, a live preview with a sample input, and the template checks).

The preview goes through RenderUiTemplate's domain call (flows.render_ui_template: the sample input's
checks and the render errors shown as messages) and shows the rendered task in a sandboxed frame
(crowdloop.console.frames) whose URL carries the sample input, signed. Without JS the sample input form
is a GET of this page (`?input=`); console-templates.js updates the frame in place on "Preview" and,
debounced, while typing, from `/console/api/templates/{ui}/preview?input=`.

The "Checks" box shows the template checks (crowdloop.templatecheck, `crowdloop lint`) of the stored template
with the sample input (a JSON object that is not empty), else with an input made up from the template's
expressions; the preview API returns them too, so they follow the sample input as it is edited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import flows, loopsearch, templatecheck, urls
from crowdloop.console.frames import MAX_SAMPLE_INPUT_BYTES, ConsoleFrames, FrameLink, check_sample_input
from crowdloop.console.web import ConsoleVisit, console_page
from crowdloop.errors import InvalidInput
from crowdloop.flows import FlowDefinition, HumanTaskUi
from crowdloop.runtime import Caller, Services

MAX_LISTED = 1000  # task UIs and flow definitions read for the list (pages of 100 from the listings)
MAX_NAME_CHARS = 63


def _all_uis(svc: Services, caller: Caller) -> list[HumanTaskUi]:
    found: list[HumanTaskUi] = []
    token: str | None = None
    while len(found) < MAX_LISTED:
        page = flows.list_human_task_uis(svc, caller, max_results=100, next_token=token, sort_order="Descending")
        found += page.items
        token = page.next_token
        if token is None:
            break
    return found


def _all_flows(svc: Services, caller: Caller) -> list[FlowDefinition]:
    found: list[FlowDefinition] = []
    token: str | None = None
    while len(found) < MAX_LISTED:
        page = flows.list_flow_definitions(svc, caller, max_results=100, next_token=token, sort_order="Descending")
        found += page.items
        token = page.next_token
        if token is None:
            break
    return found


def _users(svc: Services, caller: Caller) -> dict[str, list[str]]:
    """Task UI ARN -> the names of the flow definitions using it (newest first)."""
    users: dict[str, list[str]] = {}
    for flow in _all_flows(svc, caller):
        users.setdefault(flow.human_task_ui_arn, []).append(flow.name)
    return users


@console_page
def templates_list(visit: ConsoleVisit) -> Response:
    uis = _all_uis(visit.svc, visit.caller)
    return visit.page(
        "templates.html",
        title=visit._("Templates"),
        uis=uis,
        users=_users(visit.svc, visit.caller),
        capped=len(uis) >= MAX_LISTED,
    )


@dataclass(frozen=True)
class Preview:
    sample_input: str
    frame: FrameLink | None
    errors: list[str]


@dataclass(frozen=True)
class Checks:
    findings: list[templatecheck.Finding]
    made_up: bool  # checked with an input made up from the template's expressions (no sample input)

    @property
    def clean(self) -> bool:
        return not any(f.alarming for f in self.findings)

    def as_json(self) -> dict[str, object]:
        return {
            "made_up": self.made_up,
            "findings": [{"severity": f.severity, "line": f.line, "message": f.message} for f in self.findings],
        }


def _checks(visit: ConsoleVisit, source: str, sample_input: str) -> Checks:
    try:
        given = json.loads(sample_input)
    except ValueError:
        given = None
    task_input = given if isinstance(given, dict) and given else None
    limits = flows.render_limits(visit.svc.settings)
    return Checks(templatecheck.check_template(source, task_input, limits=limits), task_input is None)


def _preview(visit: ConsoleVisit, ui: HumanTaskUi, sample_input: str) -> Preview:
    frames: ConsoleFrames = visit.request.app.state.frames
    try:
        check_sample_input(sample_input)
        rendered = flows.render_ui_template(visit.svc, visit.caller, task_input=sample_input, human_task_ui_arn=ui.arn)
    except InvalidInput as exc:
        return Preview(sample_input, None, [str(exc)])
    errors = [f"{code}: {message}" for code, message in rendered.errors]
    return Preview(sample_input, frames.preview_link(visit.caller, ui.name, sample_input), errors)


def _ui(visit: ConsoleVisit) -> HumanTaskUi:
    name = visit.request.path_params["ui"]
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"A task UI name has at most {MAX_NAME_CHARS} characters.", "name")
    return flows.describe_human_task_ui(visit.svc, visit.caller, name)


def _sample_input(visit: ConsoleVisit, users: list[str]) -> str:
    given = visit.request.query_params.get("input")
    if given is not None:
        if len(given.encode()) > MAX_SAMPLE_INPUT_BYTES:
            raise InvalidInput(f"The sample input is larger than {MAX_SAMPLE_INPUT_BYTES // 1024} KiB.", "input")
        return given
    for flow_name in users[:1]:
        latest = loopsearch.latest_input(visit.svc, visit.caller, flow_name)
        if latest is not None and len(latest.encode()) <= MAX_SAMPLE_INPUT_BYTES:
            return latest
    return "{}"


@console_page(slow=True)
def template_page(visit: ConsoleVisit) -> Response:
    ui = _ui(visit)
    users = _users(visit.svc, visit.caller).get(ui.arn, [])
    source = flows.get_template(visit.svc, ui.template_sha256) or ""
    preview = _preview(visit, ui, _sample_input(visit, users))
    return visit.page(
        "template.html",
        title=ui.name,
        ui=ui,
        users=users,
        source=source,
        preview=preview,
        checks=_checks(visit, source, preview.sample_input),
        max_input_bytes=MAX_SAMPLE_INPUT_BYTES,
        api_url=urls.fill(urls.CONSOLE_TEMPLATE_PREVIEW_API, ui=ui.name),
    )


@console_page(slow=True)
def preview_api(visit: ConsoleVisit) -> Response:
    ui = _ui(visit)
    given = visit.request.query_params.get("input", "{}")
    if len(given.encode()) > MAX_SAMPLE_INPUT_BYTES:
        raise InvalidInput(f"The sample input is larger than {MAX_SAMPLE_INPUT_BYTES // 1024} KiB.", "input")
    preview = _preview(visit, ui, given)
    frame = None if preview.frame is None else {"url": preview.frame.url, "sandbox": preview.frame.sandbox}
    source = flows.get_template(visit.svc, ui.template_sha256) or ""
    checks = _checks(visit, source, given).as_json()
    return visit.json({"frame": frame, "errors": preview.errors, "checks": checks})


ROUTES = [
    Route(urls.CONSOLE_TEMPLATES, templates_list, methods=["GET"]),
    Route(urls.CONSOLE_TEMPLATE, template_page, methods=["GET"]),
    Route(urls.CONSOLE_TEMPLATE_PREVIEW_API, preview_api, methods=["GET"]),
]
