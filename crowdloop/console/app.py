"""create_console(services): the requester console as an ASGI app (the root app hands it every request
whose path is /console or under /console/: crowdloop.dispatch).

The route table is the concatenation of each part's `ROUTES` (a list of starlette Routes, paths from
crowdloop.urls); views are written against crowdloop.console.web (read its docstring).

| method | path                      | what                                                          |
|--------|---------------------------|---------------------------------------------------------------|
| GET    | /console                  | overview: every flow definition and its progress (signed in)  |
| GET    | /console/api/overview     | the overview's numbers as JSON (the page polls it)            |
| GET    | /console/signin?next=     | sign-in form (access key id + secret access key)              |
| POST   | /console/signin?next=     | sign in (rate limited per key id and per IP)                  |
| GET    | /console/link?token=      | a one-time sign-in link: a page with one button               |
| POST   | /console/link             | redeem the link -> session -> the overview                    |
| POST   | /console/signout          | end the session                                               |
| ...    | downloads.ROUTES          | downloads and agreement JSON (crowdloop.console.downloads)    |
| GET    | /console/workers?after=   | workers, 100 per page by email; POST .../add, .../invite,     |
|        |                           | .../status, .../groups (people part: console/people.py)       |
| GET    | /console/teams            | work teams + create form; POST /console/teams/create          |
| GET    | /console/teams/{name}     | edit a team; POST .../update, .../delete (console/workteams)  |
| GET    | /console/webhooks         | subscriptions, add form, live panel; POST .../create; GET/POST|
|        |                           | /{id}/delete; /{id} its deliveries; /deliveries/{id} (events) |
| GET    | /console/flows/{f}/gold | gold items, upload, retire, paused workers' resume (goldpage)  |
| GET    | /console/labeling-jobs    | Ground Truth labeling jobs; /{job} its objects; GET/POST       |
|        |                           | /{job}/stop (console/labelingjobs.py)                         |
| GET    | /console/static/{name}    | console.css, console.js, vendor/uplot.min.js (+ .css)         |
"""

from __future__ import annotations

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crowdloop import blocking, urls
from crowdloop.console import (
    auth,
    downloads,
    flows,
    fmt,
    frames,
    goldpage,
    labelingjobs,
    loops,
    overview,
    people,
    templates_pages,
    webhook_deliveries,
    webhooks,
)
from crowdloop.console.static import ConsoleAssets
from crowdloop.console.web import WORKER_THREADS, Console, ConsoleVisit, page_policy, render_error
from crowdloop.portal.languages import default_globals
from crowdloop.runtime import Services


def part_routes() -> list[BaseRoute]:
    """Every part's routes (one line per part)."""
    return [
        *auth.ROUTES,
        *overview.ROUTES,
        *flows.ROUTES,
        *goldpage.ROUTES,
        *loops.ROUTES,
        *templates_pages.ROUTES,
        *frames.ROUTES,
        *downloads.ROUTES,
        *people.ROUTES,
        *webhooks.ROUTES,
        *webhook_deliveries.ROUTES,
        *labelingjobs.ROUTES,
    ]


def create_console(
    services: Services, assets: ConsoleAssets | None = None, heavy_lane: blocking.HeavyLane | None = None
) -> Starlette:
    assets = assets or ConsoleAssets.load()
    jinja = jinja2.Environment(
        loader=jinja2.PackageLoader("crowdloop.console", "templates"),
        autoescape=True,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],  # gettext / ngettext come with each render (portal.languages.template_i18n)
    )
    jinja.policies["ext.i18n.trimmed"] = True
    jinja.newstyle_gettext = True  # type: ignore[attr-defined]
    jinja.globals["urls"] = urls
    jinja.globals.update(default_globals())
    jinja.filters.update(fmt.filters())
    for name in jinja.list_templates():  # compile now, not in the first concurrent requests
        jinja.get_template(name)
    console = Console(
        svc=services,
        jinja=jinja,
        asset=assets.url,
        policy=page_policy(services.settings.task_frame_origin),
        limiter=anyio.CapacityLimiter(WORKER_THREADS),
        heavy_lane=heavy_lane or blocking.HeavyLane(),
    )

    async def static(request: Request) -> Response:
        return assets.response(request)

    async def no_route(request: Request, exc: Exception) -> Response:  # Starlette's 404 and 405
        return render_error(ConsoleVisit(console, request), exc)

    routes = [*part_routes(), Route(urls.CONSOLE_STATIC, static, methods=["GET"])]
    app = Starlette(routes=routes, exception_handlers={404: no_route, 405: no_route})
    app.state.console = console
    app.state.frames = frames.ConsoleFrames(services)  # the loops part's answer and preview frames
    return app
