"""create_portal(services): the worker portal as an ASGI app.

| method | path                              | what                                                    |
|--------|-----------------------------------|---------------------------------------------------------|
| GET    | /                                 | job list (signed in) or redirect to /signin             |
| GET    | /signin                           | sign-in form                                            |
| POST   | /signin                           | sign in (rate limited per email and per IP)             |
| GET    | /signin/oidc/{workforce}?next=    | sign in through the workforce's OIDC provider -> its    |
|        |                                   | AuthorizationEndpoint                                   |
| GET    | /signin/oidc/callback             | the provider's redirect back (code + state) -> session  |
| POST   | /signout                          | end the session                                         |
| GET    | /invite/{token}                   | invitation: choose a password                           |
| POST   | /invite/{token}                   | set the password, sign in                               |
| POST   | /jobs/{job}/start                 | claim (or resume) a task of the job -> its task page    |
| GET    | /jobs/{job}/empty                 | "No tasks left"                                         |
| GET    | /tasks/{assignment}               | task page (or "Time is up" / "no longer available")     |
| GET    | /tasks/{assignment}/frame?token=  | the task UI document for the sandboxed iframe           |
| POST   | /tasks/{assignment}/submit        | JSON {answer, timeSpentInSeconds} -> {next}             |
| POST   | /tasks/{assignment}/release       | slot back to the queue                                  |
| POST   | /tasks/{assignment}/decline       | slot back, never offered to this worker again           |
| *      | /tasks/check/{assignment}[/...]   | the same five for a gold item's task (crowdloop.gold)   |
| GET    | /static/{name}                    | portal.css, portal.js, crowd-html-elements.js (+ .css)  |
| GET    | /language?to=&next=               | the language switcher: a preference cookie, then `next` |
"""

from __future__ import annotations

from functools import partial

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crowdloop import blocking, urls
from crowdloop.keyfiles import load_key
from crowdloop.liquid.threads import RenderThreads
from crowdloop.portal import oidc, pages, tasks
from crowdloop.portal.access import JobCache
from crowdloop.portal.handoff import LeaseHandoff
from crowdloop.portal.languages import default_globals
from crowdloop.portal.sourceip import SourceIpRules
from crowdloop.portal.static import CROWD_CSS, CROWD_SCRIPT, Assets, load_assets
from crowdloop.portal.taskui import TaskUi
from crowdloop.portal.tokens import TokenSigner
from crowdloop.portal.web import (
    REMOTE_THREADS,
    WORKER_THREADS,
    Portal,
    Visit,
    anonymous,
    answer_failures,
    page_policy,
    render_error,
    signed_in,
)
from crowdloop.runtime import Services


class RowId(Convertor[int]):
    """`{name:id}`: a database id, 1 to 2**31 - 1 (the range of the INTEGER id columns), no leading zeros;
    anything else matches no route, so a larger number is the 404 page like any unknown id."""

    regex = (
        "[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
        "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
    )

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


def create_portal(
    services: Services, assets: Assets | None = None, render_threads: RenderThreads | None = None
) -> Starlette:
    """The portal for these services. Mount it for every request that is not an AWS API call.
    render_threads: where task frames are rendered (shared with the API by the app)."""
    register_url_convertor("id", RowId())
    assets = assets or load_assets(services)
    jinja = jinja2.Environment(
        loader=jinja2.PackageLoader("crowdloop.portal", "templates"),
        autoescape=True,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],  # gettext / ngettext come with each render (portal.languages.template_i18n)
    )
    jinja.policies["ext.i18n.trimmed"] = True
    jinja.newstyle_gettext = True  # type: ignore[attr-defined]
    jinja.globals["urls"] = urls  # templates link with the same functions as the views
    jinja.globals.update(default_globals())
    for name in jinja.list_templates():  # compile now, not in the first concurrent requests
        jinja.get_template(name)
    services.passwords.dummy_hash()  # hashed now: the first sign-in with an unknown email costs no more than the rest
    portal = Portal(
        svc=services,
        jinja=jinja,
        assets=assets,
        tokens=TokenSigner(load_key(services.settings.data_path)),
        taskui=TaskUi(services, assets.url(CROWD_SCRIPT), assets.url(CROWD_CSS)),
        jobs=JobCache(services),
        handoff=LeaseHandoff(),
        source_ips=SourceIpRules(services),
        page_policy=page_policy(services.settings.task_frame_origin),
        limiter=anyio.CapacityLimiter(WORKER_THREADS),
        remote_limiter=anyio.CapacityLimiter(REMOTE_THREADS),
        inline=blocking.store_calls_on_event_loop(services.store),
    )

    renders = render_threads or RenderThreads()

    async def frame(request: Request) -> Response:  # renders the template: never on the event loop
        return await answer_failures(Visit(portal, request), renders.run(tasks.frame, portal, request), frame=True)

    async def gold_frame(request: Request) -> Response:
        rendered = renders.run(partial(tasks.frame, gold_item=True), portal, request)
        return await answer_failures(Visit(portal, request), rendered, frame=True)

    async def static(request: Request) -> Response:
        return await answer_failures(Visit(portal, request), portal.assets.response(request))

    routes = [
        Route(urls.HOME, signed_in(pages.job_list), methods=["GET"]),
        Route(urls.SIGNIN, anonymous(pages.signin_form), methods=["GET"]),
        Route(urls.SIGNIN, anonymous(pages.signin, slow=True), methods=["POST"]),
        Route(urls.OIDC_CALLBACK, anonymous(oidc.callback, remote=True), methods=["GET"]),
        Route(urls.OIDC_START, anonymous(oidc.start), methods=["GET"]),
        Route(urls.SIGNOUT, signed_in(pages.signout), methods=["POST"]),
        Route(urls.INVITATION, anonymous(pages.invitation_form), methods=["GET"]),
        Route(urls.INVITATION, anonymous(pages.accept_invitation, slow=True), methods=["POST"]),
        Route(urls.JOB_START, signed_in(tasks.start), methods=["POST"]),
        Route(urls.JOB_EMPTY, signed_in(tasks.no_tasks_left), methods=["GET"]),
        Route(urls.TASK, signed_in(tasks.task_page), methods=["GET"]),
        Route(urls.TASK_FRAME, frame, methods=["GET"]),
        Route(urls.TASK_SUBMIT, signed_in(tasks.submit), methods=["POST"]),
        Route(urls.TASK_RELEASE, signed_in(tasks.release), methods=["POST"]),
        Route(urls.TASK_DECLINE, signed_in(tasks.decline), methods=["POST"]),
        Route(urls.GOLD_TASK, signed_in(partial(tasks.task_page, gold_item=True)), methods=["GET"]),
        Route(urls.GOLD_TASK_FRAME, gold_frame, methods=["GET"]),
        Route(urls.GOLD_TASK_SUBMIT, signed_in(partial(tasks.submit, gold_item=True)), methods=["POST"]),
        Route(urls.GOLD_TASK_RELEASE, signed_in(partial(tasks.release, gold_item=True)), methods=["POST"]),
        Route(urls.GOLD_TASK_DECLINE, signed_in(partial(tasks.decline, gold_item=True)), methods=["POST"]),
        Route(urls.STATIC, static, methods=["GET"]),
        Route(urls.LANGUAGE, anonymous(pages.switch_language), methods=["GET"]),
    ]

    async def no_route(request: Request, exc: Exception) -> Response:  # Starlette's 404 and 405
        return render_error(Visit(portal, request), exc)

    app = Starlette(routes=routes, exception_handlers={404: no_route, 405: no_route})
    app.state.portal = portal
    return app
