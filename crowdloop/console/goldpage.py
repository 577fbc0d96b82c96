"""A flow definition's gold items page, `/console/flows/{flow}/gold` (docs/console.md "Gold items"): its gold
settings and counts, the items (keyset pages of PAGE_SIZE, oldest first), an upload form (a JSONL file or
pasted lines, checked as `crowdloop gold add` checks them: all or nothing, each bad line named), Retire
(confirmed on a page of its own, then a POST) and the workers paused for the flow or who failed its
qualification, with Resume (confirmed the same way). Every change goes through crowdloop.gold, as the CLI's.

Parameters, each checked (400 otherwise): the flow name (a FlowDefinitionName: downloads.flow_name), `after`
and `item` (a gold item's name, at most goldspec.MAX_NAME_CHARS), `worker` (an email, at most MAX_EMAIL_CHARS).
The upload is a multipart form within the console's body limit (web.MAX_BODY_BYTES; larger: 413)."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import gold, goldspec, urls
from crowdloop.console import fmt
from crowdloop.console.downloads import flow_name
from crowdloop.console.web import MAX_BODY_BYTES, ConsoleVisit, console_action, console_page
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.i18n import N_

PAGE_SIZE = 100
MAX_EMAIL_CHARS = 320  # workers.normalize_email's limit
SHOWN_BLOCKED = 1000
_PROBLEM = re.compile(r"; (?=line \d+: |more than |and \d+ more)")


def _param(visit: ConsoleVisit, name: str, limit: int, what: str) -> str:
    value = visit.request.query_params.get(name, "") if visit.request.method == "GET" else visit.data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(f"{what} has at most {limit} characters.", name)
    return value


def _item_name(visit: ConsoleVisit) -> str:
    name = _param(visit, "item", goldspec.MAX_NAME_CHARS, "A gold item's id")
    if not name:
        raise InvalidInput(N_("Name the gold item (item=)."), "item")
    return name


def _worker_email(visit: ConsoleVisit) -> str:
    email = _param(visit, "worker", MAX_EMAIL_CHARS, "An email address")
    if not email:
        raise InvalidInput(N_("Name the worker (worker=)."), "worker")
    return email


def problems_of(message: str) -> list[str]:
    """gold.add_items' refusal as a list: "Nothing was added", then each bad line (or what is wrong)."""
    head, colon, rest = message.partition(": ")
    if head != "Nothing was added" or not colon:
        return [message]
    return [head, *_PROBLEM.split(rest.removesuffix("."))]


def _page(visit: ConsoleVisit, name: str, *, status: int = 200, **form: Any) -> Response:
    after = visit.request.query_params.get("after") or None
    if after is not None and len(after) > goldspec.MAX_NAME_CHARS:
        raise InvalidInput(f"A gold item's id has at most {goldspec.MAX_NAME_CHARS} characters.", "after")
    summary = gold.summary(visit.svc, visit.caller, name)  # NotFound for an unknown flow definition
    items, next_after = gold.items_page(visit.svc, visit.caller, name, after=after, limit=PAGE_SIZE)
    blocked = gold.blocked_workers(visit.svc, visit.caller, name, limit=SHOWN_BLOCKED)
    here = urls.fill(urls.CONSOLE_GOLD, flow=name)
    query = visit.request.query_params
    notice = ""
    if query.get("added", "").isdigit():
        notice = visit._("{n} gold items were added.", n=fmt.number(int(query["added"]), visit.language))
    elif query.get("retired"):
        notice = visit._("Gold item {name} was retired.", name=query["retired"][: goldspec.MAX_NAME_CHARS])
    elif query.get("resumed"):
        who = query["resumed"][:MAX_EMAIL_CHARS]
        notice = visit._("{who} may work on {flow} again (gold counters cleared).", who=who, flow=name)
    return visit.page(
        "gold.html",
        status=status,
        title=visit._("Gold items · {name}", name=name),
        flow_name=name,
        summary=summary,
        config=summary.config,
        items=items,
        paged=after is not None,
        first_url=here,
        next_url=None if next_after is None else f"{here}?{urlencode({'after': next_after})}",
        blocked=blocked,
        blocked_cut=len(blocked) >= SHOWN_BLOCKED,
        notice=notice,
        max_bytes=MAX_BODY_BYTES,
        page_size=PAGE_SIZE,
        errors=form.get("errors", []),
        pasted=form.get("pasted", ""),
    )


@console_page
def gold_page(visit: ConsoleVisit) -> Response:
    return _page(visit, flow_name(visit))


def _upload(data: dict[str, Any]) -> tuple[str, str]:
    """(the JSONL text, the pasted text to show again) from the form: a file or pasted lines, not both."""
    file_text, pasted = data.get("file", ""), data.get("lines", "")
    if not isinstance(file_text, str) or not isinstance(pasted, str):
        raise InvalidInput(N_("The upload form sends text."), "file")
    if file_text.strip() and pasted.strip():
        raise InvalidInput(N_("Choose a file or paste lines, not both."), "file")
    text = (file_text or pasted).removeprefix("\ufeff")  # a byte order mark some editors write
    if not text.strip():
        raise InvalidInput(N_("Nothing was added: choose a JSONL file or paste its lines."), "file")
    return text, pasted


@console_action
def add_gold(visit: ConsoleVisit) -> Response:
    name = flow_name(visit)
    pasted = ""
    try:
        text, pasted = _upload(visit.data)
        added = gold.add_items(visit.svc, visit.caller, name, io.StringIO(text, newline=None))  # lines as a file's
    except InvalidInput as exc:
        return _page(visit, name, status=400, errors=problems_of(str(exc)), pasted=pasted)
    return visit.redirect(f"{urls.fill(urls.CONSOLE_GOLD, flow=name)}?{urlencode({'added': len(added)})}")


@console_page
def confirm_retire(visit: ConsoleVisit) -> Response:
    name = flow_name(visit)
    item = gold.get_item(visit.svc, visit.caller, name, _item_name(visit))
    if item.retired:
        raise NotFound("gold item", item.name, f"Gold item {item.name} of {name} is retired already.")
    title = visit._("Retire gold item {name}", name=item.name)
    return visit.page("gold_confirm.html", title=title, flow_name=name, item=item)


@console_action
def retire(visit: ConsoleVisit) -> Response:
    name, item = flow_name(visit), _item_name(visit)
    gold.delete_item(visit.svc, visit.caller, name, item)
    return visit.redirect(f"{urls.fill(urls.CONSOLE_GOLD, flow=name)}?{urlencode({'retired': item})}")


@console_page
def confirm_resume(visit: ConsoleVisit) -> Response:
    name, email = flow_name(visit), _worker_email(visit)
    found = gold.blocked_workers(visit.svc, visit.caller, name, email=email, limit=1)
    if not found:
        raise NotFound("worker", email, f"{email} is not paused for {name} and did not fail its qualification.")
    return visit.page("gold_confirm.html", title=f"Resume {email}", flow_name=name, worker=found[0])


@console_action
def resume(visit: ConsoleVisit) -> Response:
    name, email = flow_name(visit), _worker_email(visit)
    gold.resume(visit.svc, visit.caller, name, email)
    return visit.redirect(f"{urls.fill(urls.CONSOLE_GOLD, flow=name)}?{urlencode({'resumed': email})}")


ROUTES = [
    Route(urls.CONSOLE_GOLD, gold_page, methods=["GET"]),
    Route(urls.CONSOLE_GOLD_ADD, add_gold, methods=["POST"]),
    Route(urls.CONSOLE_GOLD_RETIRE, confirm_retire, methods=["GET"]),
    Route(urls.CONSOLE_GOLD_RETIRE, retire, methods=["POST"]),
    Route(urls.CONSOLE_GOLD_RESUME, confirm_resume, methods=["GET"]),
    Route(urls.CONSOLE_GOLD_RESUME, resume, methods=["POST"]),
]
