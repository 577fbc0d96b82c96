"""The loop page (`/console/flows/{flow}/loops/{loop}`): the input, each submitted answer in the task's own
template (a sandboxed frame, crowdloop.console.frames) and as JSON, timings, the output.json link, and
Stop / Delete, each confirmed on a page of its own first (works without JS), then a POST with the CSRF
token through the same domain calls as StopHumanLoop / DeleteHumanLoop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import loops, loopsearch, urls
from crowdloop.answers import SubmittedAnswer
from crowdloop.console.frames import ConsoleFrames, FrameLink
from crowdloop.console.web import ConsoleVisit, console_action, console_page
from crowdloop.errors import InvalidInput
from crowdloop.i18n import N_
from crowdloop.model import HumanLoopStatus

OUTPUT_LINK_SECONDS = 3600
MAX_NAME_CHARS = 63


@dataclass(frozen=True)
class ShownAnswer:
    answer: SubmittedAnswer
    frame: FrameLink
    pretty: str


def loop_url(flow: str, loop: str) -> str:
    return urls.fill(urls.CONSOLE_LOOP, flow=flow, loop=loop)


def _names(visit: ConsoleVisit) -> tuple[str, str]:
    flow, loop = visit.request.path_params["flow"], visit.request.path_params["loop"]
    if len(flow) > MAX_NAME_CHARS or len(loop) > MAX_NAME_CHARS:
        raise InvalidInput(f"Names have at most {MAX_NAME_CHARS} characters.", "name")
    return flow, loop


def pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        return text


@console_page
def loop_page(visit: ConsoleVisit) -> Response:
    flow, name = _names(visit)
    loop = loopsearch.loop_detail(visit.svc, visit.caller, flow, name)
    frames: ConsoleFrames = visit.request.app.state.frames
    answers = [
        ShownAnswer(a, frames.answer_link(visit.caller, a.assignment_id), pretty_json(a.answer_content))
        for a in loop.answers
    ]
    output_url = visit.svc.blobs.url_for(loop.output_uri, OUTPUT_LINK_SECONDS) if loop.output_written else None
    return visit.page(
        "loop.html",
        title=loop.name,
        loop=loop,
        answers=answers,
        input_pretty=pretty_json(loop.input_content),
        output_url=output_url,
        can_stop=loop.status == HumanLoopStatus.IN_PROGRESS,
        can_delete=loop.ended,
        notice=_notice(visit, visit.request.query_params.get("done", "")),
        flow_url=urls.fill(urls.CONSOLE_FLOW, flow=flow),
        stop_url=urls.fill(urls.CONSOLE_LOOP_STOP, flow=flow, loop=name),
        delete_url=urls.fill(urls.CONSOLE_LOOP_DELETE, flow=flow, loop=name),
    )


def _notice(visit: ConsoleVisit, done: str) -> str | None:
    return visit._(N_("The loop was stopped.")) if done == "stopped" else None


_CONFIRM: dict[str, dict[str, str]] = {  # msgids
    "stop": {
        "title": N_("Stop this loop?"),
        "explain": N_(
            "Workers holding one of its tasks lose it now; the answers already submitted go to its "
            "output.json. A stopped loop cannot be started again."
        ),
        "button": N_("Stop loop"),
    },
    "delete": {
        "title": N_("Delete this loop?"),
        "explain": N_(
            "The loop and its answers are removed from the store; its output.json stays where it was "
            "written. This cannot be undone."
        ),
        "button": N_("Delete loop"),
    },
}


def _confirm(visit: ConsoleVisit, action: str, route: str) -> Response:
    flow, name = _names(visit)
    loop = loopsearch.loop_detail(visit.svc, visit.caller, flow, name)
    return visit.page(
        "loop_confirm.html",
        title=visit._(_CONFIRM[action]["title"]),
        loop=loop,
        action=action,
        text={key: visit._(text) for key, text in _CONFIRM[action].items()},
        action_url=urls.fill(route, flow=flow, loop=name),
        back_url=loop_url(flow, name),
    )


@console_page
def confirm_stop(visit: ConsoleVisit) -> Response:
    return _confirm(visit, "stop", urls.CONSOLE_LOOP_STOP)


@console_page
def confirm_delete(visit: ConsoleVisit) -> Response:
    return _confirm(visit, "delete", urls.CONSOLE_LOOP_DELETE)


@console_action
def stop(visit: ConsoleVisit) -> Response:
    flow, name = _names(visit)
    loopsearch.loop_detail(visit.svc, visit.caller, flow, name)  # NotFound unless the loop is this flow's
    loops.stop_human_loop(visit.svc, visit.caller, name)
    return visit.redirect(loop_url(flow, name) + "?done=stopped")


@console_action
def delete(visit: ConsoleVisit) -> Response:
    flow, name = _names(visit)
    loopsearch.loop_detail(visit.svc, visit.caller, flow, name)
    loops.delete_human_loop(visit.svc, visit.caller, name)
    return visit.redirect(urls.fill(urls.CONSOLE_FLOW, flow=flow) + "?deleted=" + quote(name, safe=""))


ROUTES = [
    Route(urls.CONSOLE_LOOP, loop_page, methods=["GET"]),
    Route(urls.CONSOLE_LOOP_STOP, confirm_stop, methods=["GET"]),
    Route(urls.CONSOLE_LOOP_STOP, stop, methods=["POST"]),
    Route(urls.CONSOLE_LOOP_DELETE, confirm_delete, methods=["GET"]),
    Route(urls.CONSOLE_LOOP_DELETE, delete, methods=["POST"]),
]
