"""EventBridge and SNS deliveries against moto in server mode, read back through SQS with real boto3."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
import pytest
from moto.server import ThreadedMotoServer

from crowdloop import events
from crowdloop.bus_targets import BusPublisher, BusTarget, check_bus_target
from crowdloop.errors import InvalidInput

REGION = "us-east-1"
ACCOUNT = "123456789012"
LOOP = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/invoice-7f3a"
FLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/invoices"
CREATED = datetime(2026, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
BRIDGE_SOURCE = "crowdloop.bridge"  # the publisher's source for aws.* events


@dataclass
class Moto:
    endpoint_url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def drain(self, queue_url: str, expected: int) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        for _ in range(10):
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
            )
            messages += answer.get("Messages", [])
            if len(messages) >= expected:
                break
        return messages

    def target(self, kind: str, arn: str, **changes: Any) -> BusTarget:
        target = BusTarget(kind, arn, REGION, self.endpoint_url, "testing", "testing")  # type: ignore[arg-type]
        return replace(target, **changes)


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield Moto(f"http://{host}:{port}")
    server.stop()
    server._server.server_close()  # type: ignore[union-attr]  # stop() leaves the listening socket open


def status_change() -> bytes:
    return events.encode(
        events.human_loop_status_change(
            human_loop_arn=LOOP,
            flow_definition_arn=FLOW,
            status="Completed",
            created_at=CREATED,
            changed_at=CREATED + timedelta(minutes=5),
            output_s3_uri="s3://bucket/a2i/invoice-7f3a/output.json",
        )
    )


def answer(worker: int) -> bytes:
    return events.encode(
        events.answer_submitted(
            source="crowdloop",
            human_loop_arn=LOOP,
            flow_definition_arn=FLOW,
            created_at=CREATED,
            worker_id=f"worker-{worker}",
            accepted_at=CREATED + timedelta(minutes=1),
            submitted_at=CREATED + timedelta(minutes=2),
            time_spent_seconds=60.0,
        )
    )


def publisher(target: BusTarget) -> BusPublisher:
    return BusPublisher(target, source=BRIDGE_SOURCE, timeout_seconds=2)


def eventbridge_to_queue(moto: Moto, bus: str) -> str:
    """A bus whose one rule sends every event of our two sources to a new queue; the queue's URL."""
    moto.client("events").create_event_bus(Name=bus)
    queue_url, queue_arn = moto.queue(f"{bus}-queue")
    pattern = {"source": [BRIDGE_SOURCE, "crowdloop"]}
    moto.client("events").put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps(pattern))
    moto.client("events").put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def sns_to_queue(moto: Moto, topic: str, fifo: bool = False) -> tuple[str, str]:
    """A topic with a raw-delivery queue subscription: (topic ARN, queue URL)."""
    attributes = {"FifoTopic": "true"} if fifo else {}
    topic_arn = moto.client("sns").create_topic(Name=topic, Attributes=attributes)["TopicArn"]
    queue_name = topic.removesuffix(".fifo") + "-queue" + (".fifo" if fifo else "")
    queue_url, queue_arn = moto.queue(queue_name, **({"FifoQueue": "true"} if fifo else {}))
    moto.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return topic_arn, queue_url


@pytest.mark.parametrize("by_arn", [False, True])
def test_eventbridge_gets_each_event_with_aws_sources_replaced(moto: Moto, by_arn: bool) -> None:
    bus = f"loops-{int(by_arn)}"
    queue_url = eventbridge_to_queue(moto, bus)
    name = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}" if by_arn else bus
    sent = [status_change(), answer(1)]
    bridge = publisher(moto.target("eventbridge", name))
    attempts = bridge.publish(sent)
    bridge.close()
    assert [(a.ok, a.status, a.error) for a in attempts] == [(True, 200, ""), (True, 200, "")]
    received = {m["detail-type"]: m for m in (json.loads(m["Body"]) for m in moto.drain(queue_url, 2))}
    for body, source in zip(sent, [BRIDGE_SOURCE, "crowdloop"], strict=True):
        event = orjson.loads(body)
        got = received[event["detail-type"]]
        assert (got["source"], got["detail"]) == (source, event["detail"])
        assert (got["resources"], got["time"]) == (event["resources"], event["time"])


def test_eventbridge_takes_more_than_ten_events_in_several_calls(moto: Moto) -> None:
    queue_url = eventbridge_to_queue(moto, "many")
    bridge = publisher(moto.target("eventbridge", "many"))
    attempts = bridge.publish([answer(n) for n in range(23)])
    bridge.close()
    assert [a.ok for a in attempts] == [True] * 23
    workers = sorted(json.loads(m["Body"])["detail"]["workerId"] for m in moto.drain(queue_url, 23))
    assert workers == sorted(f"worker-{n}" for n in range(23))


def test_a_refused_entry_and_a_broken_event_fail_alone(moto: Moto) -> None:
    eventbridge_to_queue(moto, "mixed")
    no_type = orjson.dumps({**orjson.loads(answer(1)), "detail-type": ""})
    bridge = publisher(moto.target("eventbridge", "mixed"))
    attempts = bridge.publish([answer(2), no_type, b"not json"])
    bridge.close()
    assert [(a.ok, a.status) for a in attempts] == [(True, 200), (False, 200), (False, None)]
    assert attempts[1].error.startswith("InvalidArgument: Parameter DetailType is not valid")
    assert attempts[2].error.startswith("not sent: the event is not JSON")


def test_sns_subscribers_get_the_event_document_itself(moto: Moto) -> None:
    topic_arn, queue_url = sns_to_queue(moto, "loops")
    sent = status_change()
    topic = publisher(moto.target("sns", topic_arn))
    [attempt] = topic.publish([sent])
    topic.close()
    assert (attempt.ok, attempt.status, attempt.error) == (True, 200, "")
    [message] = moto.drain(queue_url, 1)
    assert message["Body"].encode() == sent  # aws.sagemaker kept: SNS has no rule against it
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {"detail-type": events.STATUS_CHANGE, "source": events.AWS_SOURCE}


def test_a_fifo_topic_drops_a_redelivered_event(moto: Moto) -> None:
    topic_arn, queue_url = sns_to_queue(moto, "loops.fifo", fifo=True)
    topic = publisher(moto.target("sns", topic_arn))
    attempts = topic.publish([answer(1), answer(1), answer(2)])
    topic.close()
    assert [a.ok for a in attempts] == [True, True, True]
    bodies = [json.loads(m["Body"])["detail"]["workerId"] for m in moto.drain(queue_url, 3)]
    assert bodies == ["worker-1", "worker-2"]


def test_sns_fails_an_entry_it_refuses(moto: Moto) -> None:
    topic_arn, _queue_url = sns_to_queue(moto, "sizes")
    too_long = orjson.dumps({**orjson.loads(answer(1)), "detail": {"note": "x" * 300_000}})
    topic = publisher(moto.target("sns", topic_arn))
    attempts = topic.publish([answer(1), too_long])
    topic.close()
    assert [a.ok for a in attempts] == [True, False]
    assert "Message too long" in attempts[1].error


def test_a_missing_bus_or_topic_fails_every_event_saying_so(moto: Moto) -> None:
    bridge = publisher(moto.target("eventbridge", "no-such-bus"))
    topic = publisher(moto.target("sns", f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"))
    bus_attempts, topic_attempts = bridge.publish([answer(1), answer(2)]), topic.publish([answer(1)])
    bridge.close()
    topic.close()
    assert {a.error for a in bus_attempts} == {
        "PutEvents failed for the whole batch: ResourceNotFoundException: Event bus no-such-bus does not exist."
    }
    assert [a.ok for a in bus_attempts] == [False, False]
    assert [(a.ok, a.error) for a in topic_attempts] == [
        (False, "PublishBatch failed for the whole batch: NotFound: Topic does not exist")
    ]


@pytest.mark.parametrize("kind", ["eventbridge", "sns"])
def test_a_dead_endpoint_fails_the_call_and_skips_the_rest(kind: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    arn = "loops" if kind == "eventbridge" else f"arn:aws:sns:{REGION}:{ACCOUNT}:loops"
    target = BusTarget(kind, arn, REGION, f"http://127.0.0.1:{port}", "testing", "testing")  # type: ignore[arg-type]
    sender = publisher(target)
    attempts = sender.publish([answer(n) for n in range(12)])
    sender.close()
    operation = "PutEvents" if kind == "eventbridge" else "PublishBatch"
    failure = (
        f'{operation} failed for the whole batch: Could not connect to the endpoint URL: "http://127.0.0.1:{port}/"'
    )
    assert [(a.ok, a.status) for a in attempts] == [(False, None)] * 12
    assert [a.error for a in attempts] == [failure] * 10 + [f"not sent, as the call before failed: {failure}"] * 2


GOOD = BusTarget("sns", f"arn:aws:sns:{REGION}:{ACCOUNT}:loops", REGION, None, None, None)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": "sqs"}, "kind", "not a bus kind"),
        ({"region": "US East"}, "region", "not an AWS region"),
        ({"arn": "loops"}, "target", "is not a topic ARN"),
        ({"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:bad name"}, "target", "is not a topic ARN"),
        ({"kind": "eventbridge", "arn": "bus with spaces"}, "target", "is not an event bus name"),
        ({"kind": "eventbridge", "arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x"}, "target", "event bus name"),
        ({"arn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:loops"}, "region", "not the region of the target's ARN"),
        ({"endpoint_url": "ftp://127.0.0.1:4566"}, "endpoint_url", "must be http(s)://host[:port]"),
        ({"endpoint_url": "http://"}, "endpoint_url", "must be http(s)://host[:port]"),
        ({"endpoint_url": "http://user:pw@localhost:4566"}, "endpoint_url", "without credentials"),
        ({"endpoint_url": "http://localhost:99999"}, "endpoint_url", "must be http(s)://host[:port]"),
        ({"access_key_id": "AKIDEXAMPLE"}, "secret_access_key", "needs its secret_access_key"),
        ({"secret_access_key": "s3cr3t"}, "access_key_id", "needs its access_key_id"),
        ({"access_key_id": "AKID EXAMPLE", "secret_access_key": "s"}, "access_key_id", "letters and digits"),
        ({"access_key_id": "AKIDEXAMPLE", "secret_access_key": "has space"}, "secret_access_key", "without spaces"),
    ],
)
def test_check_bus_target_refusals_name_their_field(changes: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_bus_target(replace(GOOD, **changes))
    assert refused.value.field == field
    assert words in refused.value.message


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"kind": "sns", "arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:loops.fifo"},
        {"kind": "eventbridge", "arn": "default"},
        {"kind": "eventbridge", "arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/loops"},
        {"region": "us-gov-west-1", "arn": f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:loops"},
        {"endpoint_url": "http://localhost:4566", "access_key_id": "testing", "secret_access_key": "testing"},
    ],
)
def test_check_bus_target_accepts_real_shapes(changes: dict[str, Any]) -> None:
    check_bus_target(replace(GOOD, **changes))


def test_the_secret_key_stays_out_of_the_targets_repr() -> None:
    target = replace(GOOD, access_key_id="AKIDEXAMPLE", secret_access_key="wJalrXUtnFEMI")
    assert "wJalrXUtnFEMI" not in repr(target)
    assert "AKIDEXAMPLE" in repr(target)
