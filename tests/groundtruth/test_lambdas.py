"""Custom labeling-job Lambdas run through the operator's targets (ground-truth-api.md §7)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crowdloop.config import load_settings
from crowdloop.errors import CrowdloopError
from crowdloop.labeling.lambdas import (
    LambdaFailed,
    LambdaInvoker,
    LambdaTarget,
    PreAnnotation,
    consolidation_event,
    parse_lambda_mapping,
    pre_annotation_event,
    read_consolidation_response,
    read_pre_annotation_response,
)
from tests.groundtruth import lambda_targets

ARN = "arn:aws:lambda:us-east-1:123456789012:function:gt-pre"
JOB = "arn:aws:sagemaker:us-west-2:123456789010:labeling-job/test-labeling-job-20211118t200608"
HELPERS = "python:tests.groundtruth.lambda_targets"


def invoker(mapping: dict[str, str], *, timeout: float = 5.0, attempts: int = 3) -> LambdaInvoker:
    return LambdaInvoker(mapping, timeout_seconds=timeout, attempts=attempts, sleep=lambda seconds: None)


def failure(call: Any, *args: Any) -> str:
    with pytest.raises(LambdaFailed) as caught:
        call(*args)
    assert isinstance(caught.value, CrowdloopError)
    assert caught.value.message.startswith("ClientError: ") and len(caught.value.message) <= 1024
    return caught.value.message


# --- python targets -------------------------------------------------------------------------------------


def test_a_python_target_gets_a_copy_of_the_event_and_its_answer_as_json() -> None:
    lambdas = invoker({ARN: f"{HELPERS}:pre_annotation"})
    event = pre_annotation_event(JOB, {"source-ref": "s3://b/1.jpg", "page": "1"})
    answer = lambdas.invoke(ARN, event)
    assert answer == {"taskInput": {"taskObject": "s3://b/1.jpg"}, "humanAnnotationRequired": "true"}
    assert lambda_targets.CALLS[-1]["labelingJobArn"] == JOB
    assert "changed" not in event["dataObject"]
    assert read_pre_annotation_response(answer) == PreAnnotation({"taskObject": "s3://b/1.jpg"}, True)
    assert invoker({ARN: f"{HELPERS}:Handlers.echo"}).invoke(ARN, {"a": [1]}) == {"echo": {"a": [1]}}


def test_python_target_failures_name_the_target_and_the_arn() -> None:
    raised = failure(invoker({ARN: f"{HELPERS}:broken"}).invoke, ARN, {})
    assert raised == (
        f"ClientError: Lambda function {ARN} ({HELPERS}:broken) raised RuntimeError: the model is not loaded"
    )
    assert "cannot import python:tests.groundtruth.nowhere:f" in failure(
        invoker({ARN: "python:tests.groundtruth.nowhere:f"}).invoke, ARN, {}
    )
    assert "AttributeError" in failure(invoker({ARN: f"{HELPERS}:missing"}).invoke, ARN, {})
    assert "is not callable" in failure(invoker({ARN: f"{HELPERS}:NOT_CALLABLE"}).invoke, ARN, {})
    assert "JSON cannot carry" in failure(invoker({ARN: f"{HELPERS}:not_json"}).invoke, ARN, {})


def test_the_callable_is_imported_once() -> None:
    lambdas = invoker({ARN: f"{HELPERS}:pre_annotation"})
    before = len(lambda_targets.CALLS)
    lambdas.invoke(ARN, pre_annotation_event(JOB, {"source": "a"}))
    lambdas.invoke(ARN, pre_annotation_event(JOB, {"source": "b"}))
    assert len(lambda_targets.CALLS) == before + 2
    assert list(lambdas._callables) == ["tests.groundtruth.lambda_targets:pre_annotation"]


# --- mapping --------------------------------------------------------------------------------------------


def test_an_unmapped_arn_names_itself_and_the_setting() -> None:
    lambdas = invoker({ARN: f"{HELPERS}:pre_annotation"})
    other = "arn:aws:lambda:us-east-1:123456789012:function:other"
    assert not lambdas.resolves(other)
    message = failure(lambdas.invoke, other, {})
    assert message == (
        f"ClientError: Lambda function {other} is not mapped to a target here: add it to the setting "
        "labeling_lambdas (CROWDLOOP_LABELING_LAMBDAS)."
    )


def test_patterns_match_whole_arns_after_exact_entries() -> None:
    lambdas = invoker(
        {
            "arn:aws:lambda:*:*:function:gt-*": "http://127.0.0.1:9/any",
            ARN: f"{HELPERS}:pre_annotation",
            "arn:aws:lambda:eu-west-1:*": "http://127.0.0.1:9/eu",
        }
    )
    assert lambdas.target_for(ARN) == LambdaTarget("python", "tests.groundtruth.lambda_targets:pre_annotation")
    assert lambdas.target_for("arn:aws:lambda:eu-west-1:1:function:gt-post") == LambdaTarget(
        "http", "http://127.0.0.1:9/any"
    )  # the first pattern in the setting's order
    assert str(lambdas.target_for("arn:aws:lambda:eu-west-1:1:function:x")) == "http://127.0.0.1:9/eu"
    assert not lambdas.resolves("arn:aws:lambda:us-east-1:1:function:xgt-post")  # a pattern matches the whole ARN
    assert not lambdas.resolves("arn:aws:lambda:eu-west-1.x")  # '.' is not a wildcard


def test_the_setting_takes_a_json_object_or_a_file(tmp_path: Path) -> None:
    mapping = {ARN: f"{HELPERS}:pre_annotation", "arn:aws:lambda:*": "https://lambdas.internal:8443/run?x=1"}
    settings = load_settings({}, env={"CROWDLOOP_LABELING_LAMBDAS": json.dumps(mapping)})
    assert settings.labeling_lambda_map == mapping
    assert (settings.labeling_lambda_timeout_seconds, settings.labeling_lambda_attempts) == (30.0, 3)
    path = tmp_path / "lambdas.json"
    path.write_text(json.dumps(mapping))
    from_file = load_settings({"labeling_lambdas": f"@{path}"}, env={})
    assert from_file.labeling_lambda_map == mapping
    lambdas = LambdaInvoker.from_settings(from_file)
    assert lambdas.resolves(ARN) and lambdas.timeout_seconds == 30.0 and lambdas.attempts == 3
    assert load_settings({}, env={}).labeling_lambda_map == {}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("arn:aws:lambda:x=python:a:b", "is not JSON"),
        ('["python:a:b"]', "must be a JSON object"),
        ('{"gt-pre": "python:a:b"}', "is not a Lambda ARN"),
        (json.dumps({ARN: "a.b:c"}), "must start with python:, http:// or https://"),
        (json.dumps({ARN: "python:a.b"}), "is not python:package.module:function"),
        (json.dumps({ARN: "http:///no-host"}), "with a host"),
        (json.dumps({ARN: "https://user:pw@h/x"}), "no credentials"),
        (json.dumps({ARN: "http://h:99999/x"}), "invalid port"),
        (json.dumps({ARN: 5}), "must be a string"),
        ("@/nonexistent/lambdas.json", "cannot read /nonexistent/lambdas.json"),
    ],
)
def test_a_bad_setting_is_one_clear_line(value: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_settings({}, env={"CROWDLOOP_LABELING_LAMBDAS": value})
    message = str(caught.value)
    assert message.startswith("setting labeling_lambdas (CROWDLOOP_LABELING_LAMBDAS): ")
    assert says in message and "\n" not in message


def test_timeout_and_attempts_are_checked() -> None:
    for bad in ("0", "-1", "inf", "nan"):
        with pytest.raises(ValueError, match="CROWDLOOP_LABELING_LAMBDA_TIMEOUT_SECONDS"):
            load_settings({}, env={"CROWDLOOP_LABELING_LAMBDA_TIMEOUT_SECONDS": bad})
    for bad in ("0", "11"):
        with pytest.raises(ValueError, match="CROWDLOOP_LABELING_LAMBDA_ATTEMPTS"):
            load_settings({}, env={"CROWDLOOP_LABELING_LAMBDA_ATTEMPTS": bad})
    assert parse_lambda_mapping("  ") == {}


# --- HTTP targets on a real local server ----------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        self.failures_left = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on /slow


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append((self.path, dict(self.headers), body))
        if self.path == "/flaky" and self.server.failures_left > 0:
            self.server.failures_left -= 1
            self._answer(500, b"warming up")
        elif self.path in ("/ok", "/flaky"):
            self._answer(
                200, json.dumps({"taskInput": body["dataObject"], "isHumanAnnotationRequired": "FALSE"}).encode()
            )
        elif self.path == "/slow":
            time.sleep(1.0)
            self._answer(200, b"{}")
        elif self.path == "/text":
            self._answer(200, b"<html>hello</html>")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(404, b"no such function")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_http_target_gets_the_event_as_json(receiver: Receiver) -> None:
    event = pre_annotation_event(JOB, {"source": "Sift 3 cups of flour", "id": 7})
    answer = invoker({ARN: receiver.url("/ok")}).invoke(ARN, event)
    assert read_pre_annotation_response(answer) == PreAnnotation({"source": "Sift 3 cups of flour", "id": 7}, False)
    [(path, headers, body)] = receiver.posts
    assert path == "/ok" and headers["Content-Type"] == "application/json" and body == event
    assert list(body) == ["version", "labelingJobArn", "dataObject"]


def test_a_5xx_is_tried_again(receiver: Receiver) -> None:
    receiver.failures_left = 2
    waits: list[float] = []
    lambdas = LambdaInvoker({ARN: receiver.url("/flaky")}, timeout_seconds=5, attempts=3, sleep=waits.append)
    assert lambdas.invoke(ARN, pre_annotation_event(JOB, {"source": "x"}))["taskInput"] == {"source": "x"}
    assert len(receiver.posts) == 3 and waits == [0.25, 0.5]
    receiver.failures_left = 5
    message = failure(invoker({ARN: receiver.url("/flaky")}, attempts=2).invoke, ARN, {"dataObject": {}})
    assert message == (
        f"ClientError: Lambda function {ARN} ({receiver.url('/flaky')}) answered HTTP 500: warming up (2 attempts)."
    )


def test_messages_leave_out_the_query_string(receiver: Receiver) -> None:
    url = receiver.url("/missing?token=hunter2")
    message = failure(invoker({ARN: url}).invoke, ARN, {})
    assert "hunter2" not in message and f"({receiver.url('/missing')}) answered HTTP 404" in message
    assert receiver.posts[0][0] == "/missing?token=hunter2"


def test_a_timeout_is_tried_again_then_fails(receiver: Receiver) -> None:
    lambdas = invoker({ARN: receiver.url("/slow")}, timeout=0.2, attempts=2)
    started = time.monotonic()
    message = failure(lambdas.invoke, ARN, {})
    assert time.monotonic() - started < 0.9  # two attempts of 0.2 s, not the receiver's second
    assert (
        message == f"ClientError: Lambda function {ARN} ({receiver.url('/slow')}) timed out after 0.2 s (2 attempts)."
    )
    assert len(receiver.posts) == 2


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/missing", "answered HTTP 404: no such function"),
        ("/moved", "answered HTTP 302 (redirects are not followed)"),
        ("/text", "answered a body that is not JSON: '<html>hello</html>'"),
    ],
)
def test_4xx_3xx_and_non_json_are_not_tried_again(receiver: Receiver, path: str, says: str) -> None:
    message = failure(invoker({ARN: receiver.url(path)}).invoke, ARN, {})
    assert message.startswith(f"ClientError: Lambda function {ARN} ({receiver.url(path)}) {says}")
    assert [p for p, _, _ in receiver.posts] == [path]


def test_a_refused_connection_is_tried_again() -> None:
    with Receiver() as closed:
        url = closed.url("/ok")  # the port is free again once the server is closed
    message = failure(invoker({ARN: url}, attempts=2).invoke, ARN, {})
    assert message.startswith(f"ClientError: Lambda function {ARN} ({url}) could not be reached: ")
    assert message.endswith("(2 attempts).")


# --- responses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "required"),
    [
        ({"taskInput": {"a": 1}}, True),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": True}, True),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": False}, False),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": "TRUE"}, True),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": "false"}, False),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": "False"}, False),
        ({"taskInput": {"a": 1}, "humanAnnotationRequired": "false"}, False),  # AWS's recipe
        ({"taskInput": {"a": 1}, "humanAnnotationRequired": "true"}, True),
        ({"taskInput": {"a": 1}, "humanAnnotationRequired": False}, False),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": "no"}, True),  # anything else: true
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": 0}, True),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": None}, True),
        ({"taskInput": {"a": 1}, "isHumanAnnotationRequired": "true", "humanAnnotationRequired": "false"}, True),
    ],
)
def test_the_human_annotation_flag_in_every_form(response: dict[str, Any], required: bool) -> None:
    assert read_pre_annotation_response(response) == PreAnnotation({"a": 1}, required)


def test_task_input_may_be_any_json_but_must_be_there() -> None:
    assert read_pre_annotation_response({"taskInput": "text"}).task_input == "text"
    assert read_pre_annotation_response({"taskInput": []}).task_input == []
    assert failure(read_pre_annotation_response, {"isHumanAnnotationRequired": True}) == (
        "ClientError: The pre-annotation Lambda returned an invalid response: it has no taskInput."
    )
    assert "no taskInput" in failure(read_pre_annotation_response, {"taskInput": None})
    for bad, kind in (([{"taskInput": 1}], "an array"), (None, "null"), ("ok", "a string"), (3, "a number")):
        assert failure(read_pre_annotation_response, bad).endswith(
            f"expected a JSON object with taskInput, got {kind}."
        )
    with pytest.raises(LambdaFailed, match=f"Pre-annotation Lambda {ARN} returned") as caught:
        read_pre_annotation_response([], arn=ARN)
    assert caught.value.arn == ARN


# --- the consolidation event and response ---------------------------------------------------------------

# §7.2: a real captured event (2019-10) plus maxHumanWorkersPerDataObject as the 2021+ events send it.
CAPTURED = """{
  "version": "2018-10-06",
  "labelingJobArn": "arn:aws:sagemaker:us-east-1:986216541610:labeling-job/dialog-labeling-demo9-private",
  "payload": {
    "s3Uri": "s3://sagemaker-dialog-label-demo/dialog-labeling-demo9-private/annotations/consolidated-annotation/consolidation-request/iteration-1/2019-10-27_08:56:48.json"
  },
  "labelAttributeName": "dialog-labeling-demo9-private",
  "roleArn": "arn:aws:iam::986216541610:role/service-role/AmazonSageMaker-ExecutionRole-20191027T040862",
  "outputConfig": "s3://sagemaker-dialog-label-demo/dialog-labeling-demo9-private/annotations",
  "maxHumanWorkersPerDataObject": 1
}"""


def captured_arguments(captured: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_arn": captured["labelingJobArn"],
        "payload_s3_uri": captured["payload"]["s3Uri"],
        "label_attribute_name": captured["labelAttributeName"],
        "role_arn": captured["roleArn"],
        "output_config": captured["outputConfig"],
        "max_workers": captured["maxHumanWorkersPerDataObject"],
    }


def test_the_consolidation_event_is_the_captured_one_key_for_key() -> None:
    captured = json.loads(CAPTURED)
    event = consolidation_event(**captured_arguments(captured), label_categories=None, kms_key_id="")
    assert json.dumps(event, indent=2) == CAPTURED  # same keys, same order, same values
    assert consolidation_event(**captured_arguments(captured), label_categories=None, kms_key_id=None) == event


def test_label_categories_and_kms_key_when_the_job_has_them() -> None:
    captured = json.loads(CAPTURED)
    event = consolidation_event(
        **captured_arguments(captured), label_categories=["cat", "dog"], kms_key_id="arn:aws:kms:us-east-1:1:key/k"
    )
    assert list(event) == [
        "version",
        "labelingJobArn",
        "labelCategories",
        "payload",
        "labelAttributeName",
        "roleArn",
        "outputConfig",
        "kmsKeyId",
        "maxHumanWorkersPerDataObject",
    ]
    assert event["labelCategories"] == ["cat", "dog"] and event["kmsKeyId"] == "arn:aws:kms:us-east-1:1:key/k"
    empty = consolidation_event(**captured_arguments(captured), label_categories=[], kms_key_id=None)
    assert empty["labelCategories"] == [] and "kmsKeyId" not in empty


def item(object_id: Any, content: Any) -> dict[str, Any]:
    return {"datasetObjectId": object_id, "consolidatedAnnotation": {"content": content}}


def test_a_consolidation_response_keeps_the_requested_well_formed_items() -> None:
    label = {"my-attr": {"x": 1}, "my-attr-metadata": {"confidence": 0.9}}
    found, problems = read_consolidation_response([item("0", label), item(1, {"my-attr": 2})], {"0", "1"})
    assert found == {"0": label, "1": {"my-attr": 2}} and problems == []


def test_a_consolidation_response_reports_each_problem() -> None:
    response = [
        item("0", {"a": 0}),
        item("0", {"a": "again"}),
        item("9", {"a": 9}),
        {"datasetObjectId": "2", "consolidatedAnnotation": {"content": "not an object"}},
        "junk",
        {"consolidatedAnnotation": {"content": {}}},
    ]
    found, problems = read_consolidation_response(response, {"0", "1", "2", "10"})
    assert found == {"0": {"a": 0}}
    assert problems == [
        "item 1 repeats datasetObjectId '0'; the first one is used",
        "item 2 has datasetObjectId '9', which was not in the request",
        'item 3 is not {datasetObjectId, consolidatedAnnotation: {content: {…}}}: {"datasetObjectId": "2", '
        '"consolidatedAnnotation": {"content": "not an object"}}',
        'item 4 is not {datasetObjectId, consolidatedAnnotation: {content: {…}}}: "junk"',
        'item 5 is not {datasetObjectId, consolidatedAnnotation: {content: {…}}}: {"consolidatedAnnotation": '
        '{"content": {}}}',
        "no consolidated annotation for datasetObjectId '1', '2', '10'",
    ]


def test_a_consolidation_response_that_is_not_an_array_fails() -> None:
    for bad, kind in (({"datasetObjectId": "0"}, "an object"), (None, "null")):
        assert failure(read_consolidation_response, bad, {"0"}) == (
            f"ClientError: The post-annotation Lambda returned an invalid response: expected a JSON array, got {kind}."
        )
    assert read_consolidation_response([], set()) == ({}, [])
