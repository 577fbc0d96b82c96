"""The Events page, `/console/webhooks`: every event subscription (webhook, EventBridge bus, SNS topic) with
its pending and failed deliveries, a form to add one, Delete (confirmed on a page of its own, then a POST),
and the live events panel (static/webhooks.js, fed by the `/events/stream` endpoint).

Subscriptions are made through crowdloop.subscriptions.create, as `crowdloop webhooks` and the events API
make them; a refused one shows the form again with the message next to the field it names and what was typed
(never the bus's secret key). A webhook's signing secret is shown once, in the answer to the POST that made
it: the store keeps it for signing, but no page shows it again. A subscription's deliveries have their own
pages (crowdloop.console.webhook_deliveries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import deliveries, events, subscriptions, urls
from crowdloop.console.web import ConsoleVisit, console_action, console_page
from crowdloop.errors import InvalidInput, LimitExceeded, NotFound
from crowdloop.i18n import N_
from crowdloop.subscriptions import Subscription

KIND_LABELS = {"webhook": N_("Webhook (URL)"), "eventbridge": N_("EventBridge bus"), "sns": N_("SNS topic")}
BUS_FIELDS = ("region", "endpoint_url", "access_key_id", "secret_access_key")
# Characters a field may have before the domain sees it (the domain's own limits are the same or lower).
LIMITS = {
    "kind": 16,
    "target": subscriptions.MAX_TARGET_CHARS,
    "pattern": subscriptions.MAX_PATTERN_CHARS,
    "description": subscriptions.MAX_DESCRIPTION_CHARS,
    "region": 64,
    "endpoint_url": 2048,
    "access_key_id": 128,
    "secret_access_key": 1024,
}
# Matches A2I's status change events, as a rule written for AWS would: the form starts with it.
EXAMPLE_PATTERN = """{
  "source": ["aws.sagemaker"],
  "detail-type": ["SageMaker A2I HumanLoop Status Change"],
  "detail": {"humanLoopStatus": ["Completed", "Failed", "Stopped"]}
}"""
# The stream names each message after its event's detail-type: the live panel listens for these.
DETAIL_TYPES = "\n".join((events.LOOP_STARTED, events.ANSWER_SUBMITTED, events.STATUS_CHANGE))
PATTERN_LINES = 6  # the table shows a pattern's first lines
PATTERN_CHARS = 240
MAX_ID = 2**63 - 1  # ids are BIGINTs: a larger number names nothing (and must not reach the database)


@dataclass(frozen=True)
class Row:
    """A subscription as the table shows it."""

    subscription: Subscription
    pattern: str  # pretty-printed and shortened
    pending: str
    failed: str


def subscription_id(visit: ConsoleVisit) -> int:
    """The `{subscription}` of the path (NotFound for a number no subscription can have)."""
    value = int(visit.request.path_params["subscription"])
    if value > MAX_ID:
        raise NotFound("subscription", str(value), f"Subscription {value} does not exist.")
    return value


def pretty_pattern(text: str, lines: int | None = None, chars: int | None = None) -> str:
    """The pattern indented for reading; cut after `lines` lines or `chars` characters (with "…")."""
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = text
    if lines is not None and pretty.count("\n") >= lines:
        pretty = "\n".join(pretty.split("\n")[:lines]) + "\n…"
    if chars is not None and len(pretty) > chars:
        pretty = pretty[:chars].rstrip() + "…"
    return pretty


def count_text(count: int) -> str:
    """A capped count (deliveries.summary) as the page writes it: 10 000+ once the cap is reached."""
    shown = f"{count:,}".replace(",", "\u202f")
    return shown + "+" if count >= deliveries.SUMMARY_CAP else shown


def _rows(visit: ConsoleVisit) -> list[Row]:
    rows = []
    for found in subscriptions.list_all(visit.svc):
        counts = deliveries.summary(visit.svc, found.id)
        pattern = pretty_pattern(found.pattern, PATTERN_LINES, PATTERN_CHARS)
        rows.append(Row(found, pattern, count_text(counts[deliveries.PENDING]), count_text(counts[deliveries.FAILED])))
    return rows


@console_page
def webhooks_page(visit: ConsoleVisit) -> Response:
    notices = (("created", N_("The subscription was created.")), ("deleted", N_("The subscription was deleted.")))
    done = dict(notices).get(visit.request.query_params.get("done", ""))
    return _list(visit, notice=visit._(done) if done else "")


def _list(
    visit: ConsoleVisit,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str = "",
    created: Subscription | None = None,
) -> Response:
    shown = values or {"kind": "webhook", "pattern": EXAMPLE_PATTERN}
    return visit.page(
        "webhooks.html",
        status=status,
        title=visit._("Events"),
        rows=_rows(visit),
        values=shown,
        errors=errors or {},
        notice=notice,
        created=created,
        secret=created.secret.reveal() if created is not None and created.secret else "",
        kinds={kind: visit._(label) for kind, label in KIND_LABELS.items()},
        limits=LIMITS,
        max_subscriptions=subscriptions.MAX_SUBSCRIPTIONS,
        stream_url=stream_url(),
        detail_types=DETAIL_TYPES,
    )


def stream_url() -> str:
    """Where the live panel's EventSource connects: the events API's stream under /console, where the
    console's session cookie is sent."""
    return urls.CONSOLE_EVENT_STREAM


def _values(data: dict[str, Any]) -> dict[str, str]:
    """The form's fields as text within LIMITS (InvalidInput naming the first that is not)."""
    values = {}
    for name, limit in LIMITS.items():
        value = data.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidInput(f"The {name.replace('_', ' ')} must be text of at most {limit} characters.", name)
        values[name] = value if name == "pattern" else value.strip()
    return values


def _error_field(field: str | None) -> str:
    """The form field an InvalidInput of subscriptions.create is about ("form": none of them)."""
    return field if field in LIMITS else "form"


@console_action(slow=True)  # the target is resolved and probed over the network
def create_webhook(visit: ConsoleVisit) -> Response:
    try:
        values = _values(visit.data)
    except InvalidInput as exc:
        kept = {k: v for k, v in visit.data.items() if isinstance(v, str) and len(v) <= LIMITS.get(k, 0)}
        return _refused(visit, kept, str(exc.field), str(exc), 400)
    kind = values["kind"]
    config = {name: values[name] for name in BUS_FIELDS if values[name]} if kind != "webhook" else None
    try:
        created = subscriptions.create(
            visit.svc,
            kind=kind,
            target=values["target"],
            pattern=values["pattern"],
            description=values["description"],
            config=config,
            created_by=visit.session.access_key_id if visit.session else "",
        )
    except InvalidInput as exc:
        return _refused(visit, values, _error_field(exc.field), str(exc), 400)
    except LimitExceeded as exc:
        return _refused(visit, values, "form", str(exc), 429)
    if created.kind != "webhook":
        return visit.redirect(urls.CONSOLE_WEBHOOKS + "?done=created")
    return _list(visit, notice=visit._("The subscription was created."), created=created)


def _refused(visit: ConsoleVisit, values: dict[str, str], field: str, message: str, status: int) -> Response:
    kept = {k: v for k, v in values.items() if k != "secret_access_key"}
    return _list(visit, kept, {field: message}, status)


@console_page
def confirm_delete(visit: ConsoleVisit) -> Response:
    found = subscriptions.get(visit.svc, subscription_id(visit))
    counts = deliveries.summary(visit.svc, found.id)
    return visit.page(
        "webhooks_delete.html",
        title=visit._("Delete subscription {id}", id=found.id),
        subscription=found,
        kind_label=visit._(KIND_LABELS.get(found.kind, found.kind)),
        pending=count_text(counts[deliveries.PENDING]),
    )


@console_action
def delete_webhook(visit: ConsoleVisit) -> Response:
    subscriptions.delete(visit.svc, subscription_id(visit))
    return visit.redirect(urls.CONSOLE_WEBHOOKS + "?done=deleted")


ROUTES = [
    Route(urls.CONSOLE_WEBHOOKS, webhooks_page, methods=["GET"]),
    Route(urls.CONSOLE_WEBHOOKS_CREATE, create_webhook, methods=["POST"]),
    Route(urls.CONSOLE_WEBHOOK_DELETE, confirm_delete, methods=["GET"]),
    Route(urls.CONSOLE_WEBHOOK_DELETE, delete_webhook, methods=["POST"]),
]
