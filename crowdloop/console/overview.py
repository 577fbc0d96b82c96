"""The overview (`/console`): every flow definition of the account with its progress, and the JSON the
page polls to update itself in place (`/console/api/overview`). Everything comes from crowdloop.stats,
which reads counters: the cost of a view does not grow with the number of loops or answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import stats, urls
from crowdloop.console import fmt
from crowdloop.console.web import ConsoleVisit, console_page
from crowdloop.i18n import N_, Language
from crowdloop.stats import FlowProgress

WEEK_HOURS = 7 * 24
DAY_HOURS = 24
POLL_SECONDS = 5  # how often the page asks for new numbers (console.js pauses while the tab is hidden)


def flow_json(flow: FlowProgress, hours: list[tuple[datetime, int]], lang: Language) -> dict[str, Any]:
    """One flow definition's numbers as the page shows them (the texts are the page's own wording)."""
    done = flow.answers_needed > 0 and flow.answers_received >= flow.answers_needed
    percent = fmt.percent(flow.answers_received, flow.answers_needed)
    if done:
        eta = lang.gettext(N_("done"))
    elif flow.eta_seconds is None:
        eta = "—"
    else:
        eta = fmt.duration(flow.eta_seconds, lang)
    return {
        "name": flow.name,
        "status": flow.status,
        "loops": {status: flow.loops.get(status, 0) for status in fmt.LOOP_STATUSES},
        "answers_received": flow.answers_received,
        "answers_needed": flow.answers_needed,
        "percent": percent,
        "progress_text": (
            lang.gettext(
                N_("{received} of {needed} answers"),
                received=fmt.number(flow.answers_received, lang),
                needed=fmt.number(flow.answers_needed, lang),
            )
            + ("" if percent is None else f" ({percent:g}%)")
        ),
        "answers_last_hour": flow.answers_last_hour,
        "median_seconds": flow.median_seconds,
        "median_text": fmt.duration(flow.median_seconds, lang),
        "workers_active": flow.workers_active,
        "tasks_waiting": flow.tasks_waiting,
        "eta_seconds": flow.eta_seconds,
        "eta_text": eta,
        "hours": _epoch_seconds(hours),
        "charts": {
            "day": chart_text(hours[-DAY_HOURS:], lang, by_day=False),
            "week": chart_text(hours, lang, by_day=True),
        },
    }


def chart_text(hours: list[tuple[datetime, int]], lang: Language, *, by_day: bool) -> dict[str, Any]:
    """The chart's text alternative: a sentence and the rows of a table (hours, or days for the week)."""
    rows: list[tuple[str, int]] = []
    last_day = None
    for at, count in hours:
        if not by_day:
            rows.append((f"{at.hour:02d}:00", count))
        elif at.date() == last_day:
            rows[-1] = (rows[-1][0], rows[-1][1] + count)
        else:
            last_day = at.date()
            rows.append((lang.day(at), count))
    total = sum(count for _, count in rows)
    _ = lang.gettext
    if total == 0:
        summary = _(N_("No answers in the last 7 days.")) if by_day else _(N_("No answers in the last 24 hours."))
    else:
        busiest, most = max(rows, key=lambda row: row[1])
        answers = lang.ngettext("{n} answer", "{n} answers", total)
        summary = (
            _(
                N_("{answers} in the last 7 days; busiest day: {busiest} with {most}."),
                answers=answers,
                busiest=busiest,
                most=most,
            )
            if by_day
            else _(
                N_("{answers} in the last 24 hours; busiest hour (UTC): {busiest} with {most}."),
                answers=answers,
                busiest=busiest,
                most=most,
            )
        )
    return {"summary": summary, "rows": rows, "unit": _(N_("Day")) if by_day else _(N_("Hour (UTC)"))}


def _epoch_seconds(hours: list[tuple[datetime, int]]) -> list[tuple[int, int]]:
    """[(epoch seconds, answers)] for consecutive whole hours (one conversion, then steps of an hour)."""
    if not hours:
        return []
    first = int(hours[0][0].timestamp())
    return [(first + 3600 * n, count) for n, (_, count) in enumerate(hours)]


def overview_data(visit: ConsoleVisit) -> list[dict[str, Any]]:
    svc, caller = visit.svc, visit.caller
    hours = stats.answers_per_hour_by_flow(svc, caller, WEEK_HOURS)  # one statement for every flow's chart
    return [
        flow_json(
            flow, hours.get(flow.name) or stats.answers_per_hour(svc, caller, flow.name, WEEK_HOURS), visit.language
        )
        for flow in stats.overview(svc, caller)  # (a flow created between the two reads: its own query)
    ]


@console_page
def overview(visit: ConsoleVisit) -> Response:
    return visit.page(
        "overview.html",
        title=visit._("Overview"),
        flows=overview_data(visit),
        statuses=fmt.LOOP_STATUSES,
        poll_seconds=POLL_SECONDS,
        day_hours=DAY_HOURS,
    )


@console_page
def overview_json(visit: ConsoleVisit) -> Response:
    return visit.json({"flows": overview_data(visit), "poll_seconds": POLL_SECONDS})


ROUTES = [
    Route(urls.CONSOLE, overview, methods=["GET"]),
    Route(urls.CONSOLE_OVERVIEW_API, overview_json, methods=["GET"]),
]
