"""Working on tasks: start a job, the task page, its frame, submit, release and decline.

Every action names an assignment id; the queue only acts on the signed-in worker's own live lease, so
another worker's id is answered 404 and a lease that ended is answered with the page saying why
("Time is up" for an expired one, "no longer available" otherwise). The views raise those errors
(TaskUnavailable, NotFound, OutsideNetwork); crowdloop.portal.web.render_error answers them.

A gold item's task (crowdloop.gold) is shown by the same views with `gold=True`, at its own addresses
(urls.GOLD_TASK: its id is a gold lease's); the page, timer and buttons are the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from crowdloop import gold, i18n, queue, urls
from crowdloop.errors import NotFound
from crowdloop.i18n import N_
from crowdloop.metrics import timed
from crowdloop.portal.errors import OutsideNetwork, PortalError, frame_link_expired
from crowdloop.portal.languages import language_of
from crowdloop.portal.pages import standing_note
from crowdloop.portal.taskui import FRAME_SANDBOX
from crowdloop.portal.web import Portal, Visit, client_address, request_origin
from crowdloop.queue import JobInfo


def start(visit: Visit) -> Response:
    """Start working on a job: the worker's held task of that job, else the next one, else "no tasks"."""
    flow_definition_id = int(visit.request.path_params["job"])
    visit.check_network(flow_definition_id)
    with timed(visit.svc.metrics, "claim"):
        lease = queue.claim(visit.svc, visit.worker_pk, flow_definition_id)
    if lease is not None:
        visit.portal.handoff.put(lease, visit.svc.clock.now())
        return visit.redirect(urls.task(lease.assignment_id, lease.gold))
    _job(visit, flow_definition_id)  # NotFound unless the worker may see the job
    return visit.redirect(urls.job_empty(flow_definition_id))


def _job(visit: Visit, flow_definition_id: int) -> JobInfo:
    job = queue.job_for_worker(visit.svc, visit.worker_pk, flow_definition_id)
    if job is None:
        raise NotFound("job", str(flow_definition_id))
    return job


def no_tasks_left(visit: Visit) -> Response:
    job = _job(visit, int(visit.request.path_params["job"]))
    standing = gold.standings(visit.svc, visit.worker_pk, [job.flow_definition_id]).get(job.flow_definition_id)
    if standing is not None and (standing.paused or standing.failed):
        title = visit._("No tasks for you")
        return visit.page("message.html", title=title, message=standing_note(visit.language, standing), job=None)
    return visit.page(
        "message.html",
        title=visit._("No tasks left"),
        message=visit._("There are no more tasks for you in “{title}” right now.", title=job.title),
        job=job,
        again_label=visit._("Check again"),
    )


def task_page(visit: Visit, gold_item: bool = False) -> Response:
    assignment_id = _assignment_id(visit.request, gold_item)
    now = visit.svc.clock.now()
    handoff = visit.portal.handoff
    lease = handoff.take(assignment_id, visit.worker_pk, now, gold_item) or queue.get_lease(
        visit.svc, assignment_id, visit.worker_pk, gold_item=gold_item
    )
    visit.check_network(lease.flow_definition_id)
    handoff.put(lease, now)  # for the frame request that follows
    job = visit.portal.jobs.get(lease.flow_definition_id)
    remaining = max(0.0, (lease.expires_at - now).total_seconds())
    tokens = visit.portal.tokens
    frame_origin = visit.svc.settings.task_frame_origin  # "" : the frame is sandboxed on this origin
    frame_token = tokens.frame_token(assignment_id, visit.worker_pk, now.timestamp(), gold_item)
    lease_token = tokens.lease_token(
        assignment_id, visit.worker_pk, lease.flow_definition_id, lease.accepted_at, gold_item
    )
    standing = gold.standings(visit.svc, visit.worker_pk, [lease.flow_definition_id]).get(lease.flow_definition_id)
    return visit.page(
        "task.html",
        title=job.title,
        job=job,
        assignment_id=assignment_id,
        submit_url=urls.task_submit(assignment_id, gold_item),
        release_url=urls.task_release(assignment_id, gold_item),
        decline_url=urls.task_decline(assignment_id, gold_item),
        qualification=standing_note(visit.language, standing) if standing and standing.questions_left else None,
        frame_url=urls.task_frame(assignment_id, frame_token, frame_origin, gold_item, _frame_language(visit)),
        sandbox="" if frame_origin else FRAME_SANDBOX,
        lease_token=lease_token,
        remaining_ms=int(remaining * 1000),
        remaining_text=_clock_text(remaining),
        page_messages=i18n.js_messages_script(visit.language.code, prefix="page."),
    )


def _frame_language(visit: Visit) -> str:
    """The page's language for the frame URL, when the frame's own request would not choose it: its
    Accept-Language is the page's, but the language cookie does not reach a frame on another origin."""
    code = visit.language.code
    return "" if code == i18n.choose(None, visit.request.headers.get("accept-language")) else code


def submit(visit: Visit, gold_item: bool = False) -> Response:
    """Store the answer (JSON: answer, timeSpentInSeconds, lease) and open the next task of the same job.
    `lease` is the task page's signed lease token (job, acceptance time); without it the lease is read."""
    assignment_id = _assignment_id(visit.request, gold_item)
    answer = visit.data.get("answer")
    if not isinstance(answer, dict):
        raise PortalError(400, N_("Unreadable request"), N_("The answer must be a JSON object."))
    signed = visit.portal.tokens.verify_lease(assignment_id, visit.worker_pk, visit.data.get("lease"), gold_item)
    if signed is None:
        lease = queue.get_lease(visit.svc, assignment_id, visit.worker_pk, gold_item=gold_item)
        signed = lease.flow_definition_id, lease.accepted_at
    flow_definition_id, accepted_at = signed
    visit.check_network(flow_definition_id)
    spent = clamp_time_spent(visit.data.get("timeSpentInSeconds"), accepted_at, visit.svc.clock.now())
    visit.portal.handoff.discard(assignment_id, gold_item)
    with timed(visit.svc.metrics, "submit"):
        queue.submit(visit.svc, assignment_id, visit.worker_pk, answer, spent, gold_item=gold_item)
    with timed(visit.svc.metrics, "claim"):
        following = queue.claim(visit.svc, visit.worker_pk, flow_definition_id)
    if following is None:
        return visit.json({"next": urls.job_empty(flow_definition_id)})
    visit.portal.handoff.put(following, visit.svc.clock.now())
    return visit.json({"next": urls.task(following.assignment_id, following.gold)})


def release(visit: Visit, gold_item: bool = False) -> Response:
    return _give_back(visit, queue.release, "released", gold_item)


def decline(visit: Visit, gold_item: bool = False) -> Response:
    return _give_back(visit, queue.decline, "declined", gold_item)


def _give_back(visit: Visit, action: Callable[..., None], notice: str, gold_item: bool) -> Response:
    assignment_id = _assignment_id(visit.request, gold_item)
    visit.portal.handoff.discard(assignment_id, gold_item)
    action(visit.svc, assignment_id, visit.worker_pk, gold_item=gold_item)
    return visit.redirect(urls.home(notice))


def frame(portal: Portal, request: Request, gold_item: bool = False) -> Response:
    """The task UI document, authorised by the signed token in its URL (the sandboxed frame has no
    usable cookies)."""
    assignment_id = _assignment_id(request, gold_item)
    now = portal.svc.clock.now()
    token = request.query_params.get("token", "")
    worker_pk = portal.tokens.verify_frame(assignment_id, token, now.timestamp(), gold_item)
    if worker_pk is None:
        raise frame_link_expired()
    lease = portal.handoff.take(assignment_id, worker_pk, now, gold_item) or queue.get_lease(
        portal.svc, assignment_id, worker_pk, gold_item=gold_item
    )
    if not portal.source_ips.allowed(lease.flow_definition_id, client_address(request)):
        raise OutsideNetwork(client_address(request))
    settings = portal.svc.settings
    ancestor = settings.portal_url if settings.task_frame_origin else None
    language = i18n.Language.of(request.query_params.get("lang")) if "lang" in request.query_params else None
    language = language or language_of(request)
    document = portal.taskui.document(lease, request_origin(request), now, ancestor=ancestor, language=language)
    return HTMLResponse(
        document.html,
        headers={
            "Content-Security-Policy": document.content_security_policy,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


def _assignment_id(request: Request, gold_item: bool) -> int:
    return int(request.path_params["check" if gold_item else "assignment"])


def clamp_time_spent(value: object, accepted_at: datetime, now: datetime) -> float:
    """The client's active time, kept within [0, wall time since the task was accepted]."""
    wall = max(0.0, (now - accepted_at).total_seconds())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return min(max(float(value), 0.0), wall)


def _clock_text(seconds: float) -> str:
    total = math.ceil(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
