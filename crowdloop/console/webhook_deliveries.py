"""A subscription's page, `/console/webhooks/{subscription}`: the subscription and its deliveries, newest
first (a state filter as a GET form; "Older" continues below the last row shown: a keyset seek through
deliveries.listing, never OFFSET), "Redeliver" per delivery and "Redeliver all failed"; and a delivery's page,
`/console/webhooks/deliveries/{delivery}`, with its event formatted. Redeliveries are POSTs with the session's
CSRF token, through deliveries.redeliver / redeliver_failed (the dispatcher sends them at once)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from crowdloop import deliveries, subscriptions, urls
from crowdloop.console.web import ConsoleVisit, console_action, console_page
from crowdloop.console.webhooks import KIND_LABELS, MAX_ID, count_text, pretty_pattern, subscription_id
from crowdloop.errors import InvalidInput, NotFound
from crowdloop.i18n import N_

PAGE = 50
MAX_ID_DIGITS = 19
ERROR_CHARS = 160  # the table shows the start of the last error; the delivery's page shows all of it


def subscription_url(subscription: int, state: str | None = None, before: int | None = None, **extra: str) -> str:
    """The subscription's page with its filter (and a notice) in the query."""
    query = {"state": state or "", "before": "" if before is None else str(before), **extra}
    shown = urlencode({k: v for k, v in query.items() if v})
    path = urls.fill(urls.CONSOLE_WEBHOOK, subscription=subscription)
    return f"{path}?{shown}" if shown else path


def _state(value: object) -> str | None:
    if value in (None, ""):
        return None
    if value not in deliveries.STATES:
        raise InvalidInput(f"The state must be one of: {', '.join(deliveries.STATES)}.", "state")
    return str(value)


def _before(value: object) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) > MAX_ID_DIGITS or not text.isascii() or not text.isdigit() or int(text) > MAX_ID:
        raise InvalidInput("The before parameter must be a delivery id.", "before")
    return int(text)


def _delivery_id(visit: ConsoleVisit) -> int:
    value = int(visit.request.path_params["delivery"])
    if value > MAX_ID:
        raise NotFound("delivery", str(value), f"Delivery {value} does not exist.")
    return value


def _notice(visit: ConsoleVisit) -> str:
    query = visit.request.query_params
    if query.get("done") == "redelivered":
        return visit._("The delivery will be sent again now.")
    count = query.get("redelivered", "")
    if count.isascii() and count.isdigit() and len(count) <= MAX_ID_DIGITS:
        n = int(count)
        if n == 0:
            return visit._("No delivery had failed.")
        return visit.language.ngettext(
            "{n} failed delivery will be sent again now.", "{n} failed deliveries will be sent again now.", n
        )
    return ""


CONFIG_LABELS = {"region": N_("Region"), "endpoint_url": N_("Endpoint URL"), "access_key_id": N_("Access key id")}


@console_page
def subscription_page(visit: ConsoleVisit) -> Response:
    query = visit.request.query_params
    state, before = _state(query.get("state")), _before(query.get("before"))
    found = subscriptions.get(visit.svc, subscription_id(visit))
    rows = deliveries.listing(visit.svc, found.id, state=state, before_id=before, limit=PAGE + 1)
    counts = deliveries.summary(visit.svc, found.id)
    older = subscription_url(found.id, state, rows[PAGE - 1].id) if len(rows) > PAGE else ""
    return visit.page(
        "webhooks_subscription.html",
        title=f"Subscription {found.id}",
        subscription=found,
        config=found.public()["config"],
        config_labels={key: visit._(label) for key, label in CONFIG_LABELS.items()},
        kind_label=visit._(KIND_LABELS.get(found.kind, found.kind)),
        pattern=pretty_pattern(found.pattern),
        deliveries=rows[:PAGE],
        state=state or "",
        states=deliveries.STATES,
        before=before,
        older_url=older,
        newest_url=subscription_url(found.id, state) if before is not None else "",
        pending=count_text(counts[deliveries.PENDING]),
        failed=count_text(counts[deliveries.FAILED]),
        error_chars=ERROR_CHARS,
        notice=_notice(visit),
    )


@console_page
def delivery_page(visit: ConsoleVisit) -> Response:
    delivery, body = deliveries.detail(visit.svc, _delivery_id(visit))
    return visit.page(
        "webhooks_delivery.html",
        title=f"Delivery {delivery.id}",
        delivery=delivery,
        event=pretty_pattern(body.decode("utf-8", "replace")),
        notice=_notice(visit),
    )


@console_action
def redeliver(visit: ConsoleVisit) -> Response:
    state, before = _state(visit.data.get("state")), _before(visit.data.get("before"))  # checked first
    delivery = deliveries.redeliver(visit.svc, _delivery_id(visit))
    if visit.data.get("back") == "delivery":
        return visit.redirect(urls.fill(urls.CONSOLE_DELIVERY, delivery=delivery.id) + "?done=redelivered")
    return visit.redirect(subscription_url(delivery.subscription_id, state, before, done="redelivered"))


@console_action
def redeliver_failed(visit: ConsoleVisit) -> Response:
    found = subscription_id(visit)
    count = deliveries.redeliver_failed(visit.svc, found)
    return visit.redirect(subscription_url(found, redelivered=str(count)))


ROUTES = [
    Route(urls.CONSOLE_WEBHOOK, subscription_page, methods=["GET"]),
    Route(urls.CONSOLE_WEBHOOK_REDELIVER_FAILED, redeliver_failed, methods=["POST"]),
    Route(urls.CONSOLE_DELIVERY, delivery_page, methods=["GET"]),
    Route(urls.CONSOLE_DELIVERY_REDELIVER, redeliver, methods=["POST"]),
]
