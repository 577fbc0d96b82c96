"""Deliveries over HTTP: a loop started with boto3 and answered through crowdloop.queue completes, its status
change reaches a real receiver, and the API lists it, shows it with its event, and sends it again."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from crowdloop import queue
from tests.domain.loopsetup import make_flow, make_worker
from tests.events.receivers import HttpReceiver
from tests.eventsapi.kit import API, LiveServer, wait_for

COMPLETED = {"source": ["aws.sagemaker"], "detail": {"humanLoopStatus": ["Completed"]}}


def _complete_a_loop(live: LiveServer, name: str) -> None:
    svc = live.app.services
    flow = make_flow(svc)
    a2i: Any = boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=live.url,
        region_name="us-east-1",
        aws_access_key_id=live.key.access_key_id,
        aws_secret_access_key=live.key.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )
    a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=flow.arn, HumanLoopInput={"InputContent": "{}"})
    worker = make_worker(svc)
    lease = queue.claim(svc, worker.id, flow.id)
    assert lease is not None
    queue.submit(svc, lease.assignment_id, worker.id, {"ok": True}, 2.0)


def test_a_completed_loop_is_delivered_listed_shown_and_redelivered(live: LiveServer, receiver: HttpReceiver) -> None:
    created = live.call("POST", f"{API}/subscriptions", {"target": receiver.url(), "pattern": COMPLETED})
    assert created.status == 201, created.body
    sub_id = created.json()["subscription"]["id"]
    _complete_a_loop(live, "answered-loop")

    def delivered() -> list[dict[str, Any]]:
        rows = live.call("GET", f"{API}/subscriptions/{sub_id}/deliveries?state=delivered").json()["deliveries"]
        return list(rows)

    rows = wait_for(delivered, what="the delivery to be delivered")
    assert len(rows) == 1 and len(receiver.requests) == 1
    row = rows[0]
    assert (row["detailType"], row["attempts"], row["lastStatus"]) == ("SageMaker A2I HumanLoop Status Change", 1, 204)
    sent = json.loads(receiver.requests[0].body)
    assert sent["detail"]["humanLoopName"] == "answered-loop"

    shown = live.call("GET", f"{API}/deliveries/{row['id']}")
    assert shown.status == 200
    assert shown.json()["delivery"]["id"] == row["id"]
    assert shown.json()["event"] == sent  # the exact event the receiver got
    assert live.call("GET", f"{API}/deliveries/999999").status == 404

    page = live.call("GET", f"{API}/subscriptions/{sub_id}/deliveries?limit=1").json()
    assert [d["id"] for d in page["deliveries"]] == [row["id"]]
    assert page["nextBefore"] == row["id"]
    after = live.call("GET", f"{API}/subscriptions/{sub_id}/deliveries?limit=1&before={row['id']}").json()
    assert after == {"deliveries": [], "nextBefore": None}
    bad = live.call("GET", f"{API}/subscriptions/{sub_id}/deliveries?state=lost")
    assert (bad.status, bad.json()["field"]) == (400, "state")
    assert live.call("GET", f"{API}/subscriptions/{sub_id}/deliveries?limit=x").json()["field"] == "limit"

    again = live.call("POST", f"{API}/deliveries/{row['id']}/redeliver")
    assert again.status == 200, again.body
    assert again.json()["delivery"]["state"] == "pending"
    wait_for(lambda: len(receiver.requests) == 2, what="the redelivery")
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same event, the same id
    assert second.body == first.body
    assert live.call("POST", f"{API}/subscriptions/{sub_id}/redeliver-failed").json() == {"redelivered": 0}
    assert live.call("POST", f"{API}/deliveries/424242/redeliver").status == 404
