"""The JSON endpoints: subscriptions and their deliveries (docs/events-api.md). Each is a blocking function of
the call that calls the domain (crowdloop.subscriptions, crowdloop.deliveries) and raises what goes wrong."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from crowdloop import deliveries, subscriptions, urls
from crowdloop.errors import InvalidInput
from crowdloop.eventsapi.calls import Call, api_call
from crowdloop.eventsapi.errors import json_response

CREATE_FIELDS = frozenset({"kind", "target", "pattern", "description", "config", "secret"})
DEFAULT_PAGE = 50


@api_call
def list_subscriptions(call: Call) -> Response:
    return json_response({"subscriptions": [s.public() for s in subscriptions.list_all(call.svc)]})


@api_call(slow=True)  # it resolves and probes the target: never on the event loop
def create_subscription(call: Call) -> Response:
    body = call.json()
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0]}' (known: {', '.join(sorted(CREATE_FIELDS))}).", unknown[0])
    created = subscriptions.create(
        call.svc,
        kind=_text(body, "kind", "webhook"),
        target=_text(body, "target", None),
        pattern=_pattern(body.get("pattern")),
        created_by=call.principal.name,
        description=_text(body, "description", ""),
        config=_config(body.get("config")),
        secret=_text(body, "secret", "") or None,
    )
    answer: dict[str, Any] = {"subscription": created.public()}
    if created.secret is not None:
        answer["secret"] = created.secret.reveal()  # shown here only: listings never show it again
    return json_response(answer, 201)


@api_call
def get_subscription(call: Call) -> Response:
    subscription_id = call.path_id("subscription")
    found = subscriptions.get(call.svc, subscription_id)
    summary = deliveries.summary(call.svc, subscription_id)
    return json_response({"subscription": {**found.public(), "summary": summary}})


@api_call
def delete_subscription(call: Call) -> Response:
    subscriptions.delete(call.svc, call.path_id("subscription"))
    return json_response(None, 204)


@api_call
def list_deliveries(call: Call) -> Response:
    given = _integer(call.query("limit"), "limit")
    limit = DEFAULT_PAGE if given is None else given
    page = deliveries.listing(
        call.svc,
        call.path_id("subscription"),
        state=call.query("state") or None,
        before_id=_integer(call.query("before"), "before"),
        limit=limit,
    )
    next_before = page[-1].id if len(page) == limit else None
    return json_response({"deliveries": [d.public() for d in page], "nextBefore": next_before})


@api_call
def get_delivery(call: Call) -> Response:
    delivery, event = deliveries.detail(call.svc, call.path_id("delivery"))
    return json_response({"delivery": delivery.public(), "event": orjson.Fragment(event)})


@api_call
def redeliver(call: Call) -> Response:
    return json_response({"delivery": deliveries.redeliver(call.svc, call.path_id("delivery")).public()})


@api_call
def redeliver_failed(call: Call) -> Response:
    count = deliveries.redeliver_failed(call.svc, call.path_id("subscription"))
    return json_response({"redelivered": count})


def _text(body: dict[str, Any], field: str, default: str | None) -> str:
    value = body.get(field, default)
    if value is None:
        raise InvalidInput(f"The field '{field}' is required.", field)
    if not isinstance(value, str):
        raise InvalidInput(f"The field '{field}' must be a string.", field)
    return value


def _pattern(value: Any) -> str:
    """The pattern as JSON text: given as text, or as a JSON object (serialised here)."""
    if value is None:
        raise InvalidInput("The field 'pattern' is required: an EventBridge event pattern.", "pattern")
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    if not isinstance(value, str):
        raise InvalidInput("The field 'pattern' must be a JSON object or its text.", "pattern")
    return value


def _config(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("The field 'config' must be a JSON object.", "config")
    return value


def _integer(text: str | None, field: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"The parameter '{field}' must be a positive whole number.", field)
    return int(text)


ROUTES = [
    Route(urls.SUBSCRIPTIONS, list_subscriptions, methods=["GET"]),
    Route(urls.SUBSCRIPTIONS, create_subscription, methods=["POST"]),
    Route(urls.SUBSCRIPTION, get_subscription, methods=["GET"]),
    Route(urls.SUBSCRIPTION, delete_subscription, methods=["DELETE"]),
    Route(urls.SUBSCRIPTION_DELIVERIES, list_deliveries, methods=["GET"]),
    Route(urls.SUBSCRIPTION_REDELIVER_FAILED, redeliver_failed, methods=["POST"]),
    Route(urls.DELIVERY, get_delivery, methods=["GET"]),
    Route(urls.DELIVERY_REDELIVER, redeliver, methods=["POST"]),
]
