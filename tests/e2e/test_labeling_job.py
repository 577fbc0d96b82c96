"""Labeling jobs end to end: boto3 creates the job from files in the built-in S3, workers label through the
portal over HTTP, and the output files are read back with boto3 (spec ground-truth-api.md §14 fixtures 5-8).
The custom post-annotation Lambda is an HTTP endpoint of this test, mapped by CROWDLOOP_LABELING_LAMBDAS."""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from crowdloop import eventlog, workers
from crowdloop.blobs import LocalBlobStore
from crowdloop.clock import SystemClock
from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services
from crowdloop.store import open_store
from tests.api.labeling_helpers import job_request, put_inputs, wait_status
from tests.api.sagemaker_helpers import unique
from tests.conftest import BACKENDS, RunningServer, start_server, stop_server
from tests.e2e.portal_connection import PortalConnection
from tests.pg import free_port

WORKERS = [("lia@example.org", "pass-lia-1"), ("max@example.org", "pass-max-22"), ("noa@example.org", "pass-noa-333")]
CUSTOM_ACS = "arn:aws:lambda:us-east-1:123456789012:function:my-consolidation"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}")
TEXT_TEMPLATE = """<crowd-form>
  <p>{{ task.input.source }}</p>
  <crowd-classifier name="sentiment" categories="['positive', 'negative']" header="Sentiment?">
    <classification-target>{{ task.input.source }}</classification-target>
  </crowd-classifier>
</crowd-form>"""


class _Lambda(BaseHTTPRequestHandler):
    """A post-annotation Lambda: labels each object with its workers' answers and remembers the events."""

    events: list[dict[str, Any]] = []
    read_payload: Any = None

    def do_POST(self) -> None:
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).events.append(event)
        payload = type(self).read_payload(event["payload"]["s3Uri"])
        body = json.dumps(
            [
                {
                    "datasetObjectId": item["datasetObjectId"],
                    "consolidatedAnnotation": {
                        "content": {
                            event["labelAttributeName"]: {
                                "answers": [json.loads(a["annotationData"]["content"]) for a in item["annotations"]]
                            }
                        }
                    },
                }
                for item in payload
            ]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def lambda_server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Lambda)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module", params=BACKENDS)
def gt_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, lambda_server: ThreadingHTTPServer
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"gt-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'crowdloop.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    mapping = {CUSTOM_ACS: f"http://127.0.0.1:{lambda_server.server_address[1]}/consolidate"}
    env = {"CROWDLOOP_LABELING_LAMBDAS": json.dumps(mapping), "CROWDLOOP_LABELING_TASK_EVENTS": "true"}
    running = start_server(data_dir, url, request.param, extra_env=env)
    store = open_store(url, migrate=False)
    svc = Services(
        settings=running.settings,
        store=store,
        clock=SystemClock(),
        blobs=LocalBlobStore(running.settings.output_path),
        passwords=PasswordHasher(CHEAPEST),
    )
    for email, password in WORKERS:
        workers.add_worker(svc, email, password_hash=svc.passwords.hash(password), groups=["labelers"])
    store.dispose()
    yield running
    stop_server(running)


@pytest.fixture
def sm(gt_server: RunningServer) -> Any:
    return gt_server.client("sagemaker")


@pytest.fixture
def s3(gt_server: RunningServer) -> Any:
    return gt_server.client("s3")


@pytest.fixture
def team(sm: Any) -> str:
    name = unique("labelers")
    arn: str = sm.create_workteam(
        WorkteamName=name,
        Description="labelers",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["labelers"]}}],
    )["WorkteamArn"]
    return arn


IDLE_SECONDS = 2.0


def _label_all(server: RunningServer, title: str, count: int, answer: Any) -> None:
    """The first `count` workers each answer every task of the job titled `title` they are given. A worker stops
    once no task came for IDLE_SECONDS after its last answer: on PostgreSQL a claim skips a loop another worker's
    transaction holds at that moment (SKIP LOCKED), so one empty "start" does not mean the job has no more."""
    errors: list[BaseException] = []

    def work(email: str, password: str) -> None:
        portal = PortalConnection(server.port)
        try:
            portal.sign_in(email, password)
            job_id = _job_id(portal, title)
            deadline = time.monotonic() + 20  # the first tasks
            while True:
                reply = portal.post_form(f"/jobs/{job_id}/start")
                if reply.status != 303 or not reply.headers["location"].startswith("/tasks/"):
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.1)  # InProgress comes a moment before the first tasks are released
                    continue
                deadline = time.monotonic() + IDLE_SECONDS
                path = reply.headers["location"]
                task = portal.get(path)
                lease = task.text.split('data-lease="', 1)[1].split('"', 1)[0]
                sent = portal.submit(int(path.rsplit("/", 1)[1]), lease, answer(email))
                assert sent.status == 200, sent.text
        except BaseException as exc:
            errors.append(exc)
        finally:
            portal.close()

    threads = [threading.Thread(target=work, args=pair) for pair in WORKERS[:count]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def _job_id(portal: PortalConnection, title: str) -> int:
    """The portal's id of the job titled `title` (it shows once the first tasks are released)."""
    deadline = time.monotonic() + 20
    while True:
        page = portal.get("/").text
        for found in re.finditer(r'action="/jobs/(\d+)/start"', page):
            card = page[max(0, found.start() - 2000) : found.start()]
            if title in card:
                return int(found.group(1))
        assert time.monotonic() < deadline, f"no job titled {title!r} on the portal:\n{page}"
        time.sleep(0.1)


def _state_changes(
    server: RunningServer,
    job_arn: str,
    *,
    expected: int = 1,
    detail_type: str = "SageMaker Ground Truth Labeling Job State Change",
) -> list[dict[str, Any]]:
    """The job's events of `detail_type` in the server's event log, once `expected` of them are there (the
    fan-out logs them a moment after the change)."""
    store = open_store(server.database_url, migrate=False)
    deadline = time.monotonic() + 20
    try:
        while True:
            with store.read() as conn:
                logged = [json.loads(e.body) for e in eventlog.read_after(conn, 0, 10_000)]
            found = [e for e in logged if e["detail-type"] == detail_type and e["resources"] == [job_arn]]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
    finally:
        store.dispose()


def _read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_image_classification_three_workers(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    lines = [{"source-ref": "s3://pictures/a.jpg", "id": "a"}, {"source-ref": "s3://pictures/b.jpg", "id": "b"}]
    uris = put_inputs(s3, lines)
    name = unique("Pets")
    title = f"Pets {name}"
    request = job_request(sm, name, uris, workteam_arn=team, workers=3, attribute="pet")
    request["HumanTaskConfig"]["TaskTitle"] = title
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    _label_all(gt_server, title, 3, lambda email: {"crowd-image-classifier": {"label": "dog"}})
    described = wait_status(sm, name, "Completed")
    (event,) = _state_changes(gt_server, described["LabelingJobArn"])
    assert event["detail"] == {"LabelingJobStatus": "Completed"}
    assert described["LabelCounters"] == {
        "TotalLabeled": 2,
        "HumanLabeled": 2,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 0,
    }
    bucket, root = uris["bucket"], f"output/{name}"
    assert (
        described["LabelingJobOutput"]["OutputDatasetS3Uri"] == f"s3://{bucket}/{root}/manifests/output/output.manifest"
    )
    output = _read(s3, bucket, f"{root}/manifests/output/output.manifest").decode().splitlines()
    assert len(output) == 2
    for number, text in enumerate(output):
        line = json.loads(text)
        assert list(line) == ["source-ref", "id", "pet", "pet-metadata"]
        assert line["source-ref"] == lines[number]["source-ref"] and line["pet"] == 1
        metadata = line["pet-metadata"]
        assert list(metadata) == ["confidence", "job-name", "class-name", "human-annotated", "creation-date", "type"]
        assert metadata["confidence"] == 0.95 and metadata["class-name"] == "dog"
        assert metadata["job-name"] == f"labeling-job/{name}" and metadata["human-annotated"] == "yes"
        assert metadata["type"] == "groundtruth/image-classification" and DATE.fullmatch(metadata["creation-date"])
    responses = _keys(s3, bucket, f"{root}/annotations/worker-response/iteration-1/")
    assert [key.split("/")[-2] for key in responses] == ["0", "1"]
    document = json.loads(_read(s3, bucket, responses[0]))
    assert len(document["answers"]) == 3
    first = document["answers"][0]
    assert first["answerContent"] == {"crowd-image-classifier": {"label": "dog"}}
    assert re.fullmatch(r"private\.us-east-1\.\w+", first["workerId"])
    requests = _keys(s3, bucket, f"{root}/annotations/consolidated-annotation/consolidation-request/iteration-1/")
    replies = _keys(s3, bucket, f"{root}/annotations/consolidated-annotation/consolidation-response/iteration-1/")
    assert len(requests) == len(replies) >= 1
    payload = json.loads(_read(s3, bucket, requests[0]))
    assert payload[0]["dataObject"] == {"s3Uri": "s3://pictures/a.jpg"}
    assert json.loads(payload[0]["annotations"][0]["annotationData"]["content"]) == {
        "crowd-image-classifier": {"label": "dog"}
    }


def test_custom_job_without_lambdas(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    lines = [{"source": "This train is really late.", "header": "Rate it"}]
    uris = put_inputs(s3, lines, labels=None, template=TEXT_TEMPLATE)
    name = unique("custom")
    request = job_request(sm, name, uris, workteam_arn=team, task_type=None, attribute="sentiment")
    request["HumanTaskConfig"]["TaskTitle"] = f"Custom {name}"
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    portal = PortalConnection(gt_server.port)
    try:
        portal.sign_in(*WORKERS[0])
        job_id = _job_id(portal, f"Custom {name}")
        reply = portal.post_form(f"/jobs/{job_id}/start")
        task = portal.get(reply.headers["location"])
        assert task.status == 200
        frame = re.search(r'src="(/frames/[^"]+)"', task.text)
        if frame:  # the task input is the manifest line itself
            assert "This train is really late." in portal.get(frame.group(1)).text
        lease = task.text.split('data-lease="', 1)[1].split('"', 1)[0]
        answer = {"sentiment": {"label": "negative"}}
        assert portal.submit(int(reply.headers["location"].rsplit("/", 1)[1]), lease, answer).status == 200
    finally:
        portal.close()
    arn = wait_status(sm, name, "Completed")["LabelingJobArn"]
    tasks = _state_changes(
        gt_server, arn, expected=2, detail_type="SageMaker Ground Truth Labeling Job Task Status Change"
    )  # the server runs with labeling_task_events on
    assert [e["detail"]["State"] for e in tasks] == ["Accepted", "Submitted"]
    assert tasks[0]["detail"] == {"labeling-job-arn": arn, "workteam-team-arn": team, "State": "Accepted"}
    (text,) = _read(s3, uris["bucket"], f"output/{name}/manifests/output/output.manifest").decode().splitlines()
    line = json.loads(text)
    assert line["source"] == lines[0]["source"] and line["sentiment"] == {}
    metadata = line["sentiment-metadata"]
    assert metadata["type"] == "groundtruth/custom" and metadata["job-name"] == name
    ref = metadata["worker-response-ref"]
    assert ref.startswith(f"s3://{uris['bucket']}/output/{name}/annotations/worker-response/iteration-1/0/")
    answers = json.loads(_read(s3, uris["bucket"], ref.split("/", 3)[3]))["answers"]
    assert answers[0]["answerContent"] == answer


def test_custom_job_with_a_consolidation_lambda(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    _Lambda.events = []
    _Lambda.read_payload = lambda uri: json.loads(_read(s3, uri.split("/", 3)[2], uri.split("/", 3)[3]))
    lines = [{"source": "first"}, {"source": "second"}]
    uris = put_inputs(s3, lines, template=TEXT_TEMPLATE)
    name = unique("lambda")
    request = job_request(sm, name, uris, workteam_arn=team, task_type=None, attribute="votes", workers=2)
    request["HumanTaskConfig"]["TaskTitle"] = f"Lambda {name}"
    request["HumanTaskConfig"]["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": CUSTOM_ACS}
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    _label_all(gt_server, f"Lambda {name}", 2, lambda email: {"sentiment": {"label": email}})
    wait_status(sm, name, "Completed")
    event = _Lambda.events[0]
    assert list(event) == [
        "version",
        "labelingJobArn",
        "labelCategories",
        "payload",
        "labelAttributeName",
        "roleArn",
        "outputConfig",
        "maxHumanWorkersPerDataObject",
    ]
    assert event["version"] == "2018-10-06" and event["labelCategories"] == ["cat", "dog"]
    assert event["labelingJobArn"].endswith(f":labeling-job/{name.lower()}")
    assert event["outputConfig"] == f"{uris['output']}{name}/annotations"
    assert event["maxHumanWorkersPerDataObject"] == 2
    output = _read(s3, uris["bucket"], f"output/{name}/manifests/output/output.manifest").decode().splitlines()
    for text in output:
        line = json.loads(text)
        assert sorted(a["sentiment"]["label"] for a in line["votes"]["answers"]) == [e for e, _ in WORKERS[:2]]
        assert line["votes-metadata"]["type"] == "groundtruth/custom"


def test_stop_lets_a_held_task_finish(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    lines = [{"source-ref": f"s3://pictures/{n}.jpg"} for n in range(3)]
    uris = put_inputs(s3, lines)
    name = unique("halt")
    request = job_request(sm, name, uris, workteam_arn=team)
    request["HumanTaskConfig"]["TaskTitle"] = f"Halt {name}"
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    portal = PortalConnection(gt_server.port)
    try:
        portal.sign_in(*WORKERS[1])
        job_id = _job_id(portal, f"Halt {name}")
        reply = portal.post_form(f"/jobs/{job_id}/start")
        path = reply.headers["location"]
        lease = portal.get(path).text.split('data-lease="', 1)[1].split('"', 1)[0]
        sm.stop_labeling_job(LabelingJobName=name)
        assert wait_status(sm, name, "Stopping", "Stopped")["LabelingJobStatus"] == "Stopping"
        sent = portal.submit(int(path.rsplit("/", 1)[1]), lease, {"crowd-image-classifier": {"label": "cat"}})
        assert sent.status == 200, sent.text
        following = sent.json()["next"]
        if following.startswith("/tasks/"):  # the portal handed the worker the next task before the step withdrew it
            assert portal.post_form(f"{following}/release").status == 303
    finally:
        portal.close()
    described = wait_status(sm, name, "Stopped")
    assert described["LabelCounters"]["HumanLabeled"] == 1 and described["LabelCounters"]["Unlabeled"] == 2
    (event,) = _state_changes(gt_server, described["LabelingJobArn"])
    assert event["source"] == "aws.sagemaker" and event["detail"] == {"LabelingJobStatus": "Stopped"}
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    output = _read(s3, uris["bucket"], f"output/{name}/manifests/output/output.manifest").decode().splitlines()
    labeled = [json.loads(text) for text in output if "label" in json.loads(text)]
    assert len(output) == 3 and len(labeled) == 1 and labeled[0]["label"] == 0


def _post_objects(server: RunningServer, name: str, body: bytes, *, signed: bool = True) -> tuple[int, Any]:
    """POST /_crowdloop/v1/labeling-jobs/<name>/objects, signed with SigV4 for the service "crowdloop"."""
    url = f"{server.endpoint_url}/_crowdloop/v1/labeling-jobs/{name}/objects"
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/x-ndjson"})
    if signed:
        credentials = Credentials(server.access_key_id, server.secret_access_key)
        SigV4Auth(credentials, "crowdloop", "us-east-1").add_auth(request)
    prepared = request.prepare()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "POST", prepared.url.split(str(server.port), 1)[1], body=body, headers=dict(prepared.headers)
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_streaming_job_takes_objects_until_stopped(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    uris = put_inputs(s3, [], template=TEXT_TEMPLATE)
    name = unique("stream")
    request = job_request(sm, name, uris, workteam_arn=team, task_type=None, attribute="mood")
    request["HumanTaskConfig"]["TaskTitle"] = f"Stream {name}"
    request["InputConfig"] = {
        "DataSource": {"SnsDataSource": {"SnsTopicArn": "arn:aws:sns:us-east-1:123456789012:gt-input"}}
    }
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    assert _post_objects(gt_server, name, b'{"source": "x"}\n', signed=False)[0] == 401
    lines = b'{"source": "I love it", "dataset-objectid-attribute-name": "tweet", "tweet": "t-1"}\n{"source": "Meh"}\n'
    status, sent = _post_objects(gt_server, name, lines)
    assert status == 200, sent
    assert [(o["datasetObjectId"], o["new"]) for o in sent["objects"]] == [("0", True), ("1", True)]
    assert sent["objects"][0]["id"] == "t-1" and len(sent["objects"][1]["id"]) == 64
    status, again = _post_objects(gt_server, name, json.dumps({"objects": [{"source": "Meh"}]}).encode())
    assert status == 200 and again["objects"] == [{**sent["objects"][1], "new": False}]
    status, bad = _post_objects(gt_server, name, b'{"text": "no source"}\n')
    assert status == 400 and "neither 'source' nor 'source-ref'" in bad["message"], bad
    status, bad = _post_objects(gt_server, name, b'{"source": "x"}\n' * 1001)  # limits: 1,000 a request
    assert status == 400 and "at most 1000 objects" in bad["message"], bad
    assert _post_objects(gt_server, "x" * 64, b'{"source": "x"}\n')[0] == 400  # a name has 63 characters at most
    status, missing = _post_objects(gt_server, "no-such-job", b'{"source": "x"}\n')
    assert status == 404 and missing["message"] == "Could not find labeling job 'no-such-job'.", missing
    _label_all(gt_server, f"Stream {name}", 1, lambda email: {"sentiment": {"label": "positive"}})
    deadline = time.monotonic() + 20
    while sm.describe_labeling_job(LabelingJobName=name)["LabelCounters"]["HumanLabeled"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sm.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"] == "InProgress"  # until stopped
    sm.stop_labeling_job(LabelingJobName=name)
    wait_status(sm, name, "Stopped")
    assert _post_objects(gt_server, name, b'{"source": "late"}\n')[0] == 400
    output = [
        json.loads(text)
        for text in _read(s3, uris["bucket"], f"output/{name}/manifests/output/output.manifest").decode().splitlines()
    ]
    assert [line["source"] for line in output] == ["I love it", "Meh"]
    assert output[0]["dataset-objectid-attribute-name"] == "tweet" and output[0]["tweet"] == "t-1"
    own = "$mood-object-id"
    assert output[1]["dataset-objectid-attribute-name"] == own and output[1][own] == sent["objects"][1]["id"]
    assert all(line["mood-metadata"]["type"] == "groundtruth/custom" for line in output)


ADJUST_TEMPLATE = """<crowd-form>
  <crowd-semantic-segmentation name="crowd-semantic-segmentation" src="{{ task.input.taskObject | grant_read_access }}"
    labels="{{ task.input.labels | to_json | escape }}" header="Fix the mask"
    initial-value='{"src": "{{ task.input.initialValue.src | grant_read_access }}",
      "labelMappings": {{ task.input.initialValue.labelMappings | to_json }} }'>
  </crowd-semantic-segmentation>
</crowd-form>"""


def _mask_png(color: str, box: tuple[int, int, int, int], *, transparent: bool) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (40, 30), (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
    ImageDraw.Draw(image).rectangle(box, fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_segmentation_adjustment_reads_the_previous_mask(gt_server: RunningServer, sm: Any, s3: Any, team: str) -> None:
    """AdjustmentSemanticSegmentation on lines that carry a previous job's mask (a PNG in the built-in S3): the
    one worker leaves the first mask as it was and moves the second; the labeling step reads the previous
    masks to tell "unadjusted" from "adjusted" and writes the new masks next to the output."""
    bucket = unique("seg")
    s3.create_bucket(Bucket=bucket)
    previous = _mask_png("#2ca02c", (5, 5, 24, 19), transparent=False)
    color_map = {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.8},
        "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.8},
    }
    lines = []
    for number in range(2):
        s3.put_object(Bucket=bucket, Key=f"first/{number}.png", Body=previous)
        lines.append(
            {
                "source-ref": f"s3://{bucket}/pictures/{number}.png",
                "first-ref": f"s3://{bucket}/first/{number}.png",
                "first-ref-metadata": {"internal-color-map": color_map, "type": "groundtruth/semantic-segmentation"},
            }
        )
    uris = put_inputs(s3, lines, labels=("cat",), template=ADJUST_TEMPLATE, bucket=bucket)
    name = unique("Fix")
    title = f"Fix {name}"
    request = job_request(
        sm, name, uris, workteam_arn=team, task_type="AdjustmentSemanticSegmentation", attribute="fixed-ref"
    )
    request["HumanTaskConfig"]["TaskTitle"] = title
    sm.create_labeling_job(**request)
    wait_status(sm, name, "InProgress")
    answers = iter(
        [
            _mask_png("#1f77b4", (5, 5, 24, 19), transparent=True),  # the same region (the element's own colour)
            _mask_png("#1f77b4", (10, 5, 29, 19), transparent=True),  # moved right
        ]
    )

    def answer(email: str) -> dict[str, Any]:
        return {
            "crowd-semantic-segmentation": {
                "inputImageProperties": {"height": 30, "width": 40},
                "labelMappings": {"cat": {"color": "#1f77b4"}},
                "labeledImage": {"pngImageData": base64.b64encode(next(answers)).decode()},
                "initialValueModified": True,  # on both: only the previous masks can tell them apart
            }
        }

    _label_all(gt_server, title, 1, answer)
    wait_status(sm, name, "Completed")
    root = f"output/{name}"
    output = [json.loads(text) for text in _read(s3, bucket, f"{root}/manifests/output/output.manifest").splitlines()]
    statuses = {}
    for line in output:
        assert list(line) == ["source-ref", "first-ref", "first-ref-metadata", "fixed-ref", "fixed-ref-metadata"]
        metadata = line["fixed-ref-metadata"]
        assert list(metadata)[-1] == "adjustment-status"
        assert metadata["internal-color-map"]["1"]["hex-color"] == "#1f77b4"
        key = line["fixed-ref"].removeprefix(f"s3://{bucket}/")
        assert key.startswith(f"{root}/annotations/consolidated-annotation/output/") and key.endswith(".png")
        assert _read(s3, bucket, key).startswith(b"\x89PNG")
        statuses[line["source-ref"].rsplit("/", 1)[1]] = metadata["adjustment-status"]
    # which object got which answer depends on the release order: one of each
    assert sorted(statuses.values()) == ["adjusted", "unadjusted"]
