"""Custom jobs, ACS-PassThrough, the PRE-<Type> task input and unsupported types."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from crowdloop.errors import InvalidInput
from crowdloop.groundtruth.consolidation import (
    DataObject,
    WorkerAnnotation,
    builtin_task_input,
    consolidate,
    custom_metadata,
    custom_without_lambda,
)
from crowdloop.groundtruth.tasktypes import INFO, TaskType
from tests.groundtruth.helpers import CREATED, DATE, obj, run


def test_custom_without_lambda() -> None:
    ref = (
        "s3://amzn-s3-demo-bucket/test-labeling-job/annotations/worker-response/iteration-1/0/2021-03-08_23:06:49.json"
    )
    created = datetime(2021, 3, 8, 23, 6, 49, 111000, tzinfo=UTC)
    content = custom_without_lambda("labelAttributeName", "test-labeling-job", ref, created)
    line = {"source": "This train is really late.", **content}
    assert (
        orjson.dumps(line)
        == (
            '{"source":"This train is really late.","labelAttributeName":{},"labelAttributeName-metadata":'
            '{"type":"groundtruth/custom","job-name":"test-labeling-job","human-annotated":"yes",'
            '"creation-date":"2021-03-08T23:06:49.111000","worker-response-ref":"' + ref + '"}}'
        ).encode()
    )


def test_custom_metadata_is_added_unless_the_lambda_wrote_it() -> None:
    lambda_content = {"sentiment": {"label": "positive"}, "extra": [1, 2]}
    assert custom_metadata("sentiment", "Job-1", CREATED, lambda_content) == {
        "sentiment": {"label": "positive"},
        "extra": [1, 2],
        "sentiment-metadata": {
            "type": "groundtruth/custom",
            "job-name": "Job-1",
            "human-annotated": "yes",
            "creation-date": DATE,
        },
    }
    assert list(custom_metadata("sentiment", "Job-1", CREATED, lambda_content)) == [
        "sentiment",
        "extra",
        "sentiment-metadata",
    ]
    own = {"sentiment": 1, "sentiment-metadata": {"confidence": 0.5}}
    assert custom_metadata("sentiment", "Job-1", CREATED, own) == own
    assert "sentiment-metadata" not in lambda_content  # the argument is left alone


def test_pass_through_keeps_every_answer() -> None:
    """The shape of a real 2019 pass-through line; only the date format is ours (microseconds, no offset)."""
    line = {"source-ref": "https://storage.googleapis.com/dialogue-resp-selection/gcp-dataset/samples/M2-60.txt"}
    worker = WorkerAnnotation("private.us-east-1.166160a28ba80787", {"response": {"label": "Response 2"}})
    objects = [DataObject("0", line, [worker]), DataObject("1", line, [])]
    name = "dialog-labeling-demo10-private"
    created = datetime(2019, 10, 27, 10, 35, 45, tzinfo=UTC)
    results = consolidate(
        TaskType.PASS_THROUGH, label_attribute_name=name, job_name=name, labels=[], objects=objects, created=created
    )
    assert set(results) == {"0"}
    assert orjson.dumps({**line, **results["0"].content}) == (
        b'{"source-ref":"https://storage.googleapis.com/dialogue-resp-selection/gcp-dataset/samples/M2-60.txt",'
        b'"dialog-labeling-demo10-private":{"annotationsFromAllWorkers":[{"workerId":'
        b'"private.us-east-1.166160a28ba80787","annotationData":{"content":'
        b'"{\\"response\\":{\\"label\\":\\"Response 2\\"}}"}}]},"dialog-labeling-demo10-private-metadata":'
        b'{"type":"groundtruth/custom","job-name":"dialog-labeling-demo10-private","human-annotated":"yes",'
        b'"creation-date":"2019-10-27T10:35:45.000000"}}'
    )
    unicode = run(TaskType.PASS_THROUGH, [obj(0, [{"t": "café ✓"}])], [])["0"].content["attr"]
    assert unicode["annotationsFromAllWorkers"][0]["annotationData"]["content"] == '{"t":"café ✓"}'


def test_builtin_task_input() -> None:
    image = {"source-ref": "s3://bucket/img.jpg", "other": 1}
    assert builtin_task_input(TaskType.BOUNDING_BOX, image, ["cat", "dog"]) == {
        "taskObject": "s3://bucket/img.jpg",
        "labels": ["cat", "dog"],
    }
    text = {"source": "Sift 3 cups of flour", "source-ref": "s3://bucket/t.txt"}
    assert builtin_task_input(TaskType.TEXT_MULTI_CLASS, text, ["a", "b"])["taskObject"] == "Sift 3 cups of flour"
    assert builtin_task_input(TaskType.IMAGE_MULTI_CLASS, text, ["a", "b"])["taskObject"] == "s3://bucket/t.txt"
    assert builtin_task_input(TaskType.IMAGE_MULTI_CLASS, {"source": "inline"}, ["a"])["taskObject"] == "inline"
    ner_labels = [{"label": "verb", "shortDisplayName": "vb"}]
    instructions = {"shortInstruction": "<p>Tag verbs</p>", "fullInstruction": "<ol><li>…</li></ol>"}
    assert builtin_task_input(
        TaskType.NAMED_ENTITY_RECOGNITION, text, ["verb"], label_objects=ner_labels, instructions=instructions
    ) == {"taskObject": "Sift 3 cups of flour", "labels": ner_labels, **instructions}  # what the NER UI reads
    assert builtin_task_input(TaskType.NAMED_ENTITY_RECOGNITION, text, ["verb"])["labels"] == [{"label": "verb"}]
    chained = {"source-ref": "s3://bucket/img.jpg", "category": {"annotations": []}, "category-metadata": {}}
    for task_type in (TaskType.ADJUSTMENT_BOUNDING_BOX, TaskType.VERIFICATION_BOUNDING_BOX):
        assert builtin_task_input(task_type, chained, ["Bird"]) == {
            "taskObject": "s3://bucket/img.jpg",
            "labels": ["Bird"],
            "manifestLine": chained,
        }
    assert builtin_task_input(TaskType.PASS_THROUGH, image, ["x"]) == image
    with pytest.raises(InvalidInput):
        builtin_task_input(TaskType.BOUNDING_BOX, {"image": "s3://bucket/img.jpg"}, ["x"])


@pytest.mark.parametrize("task_type", [t for t in TaskType if not INFO[t].supported])
def test_unsupported_types_raise(task_type: TaskType) -> None:
    with pytest.raises(InvalidInput):
        run(task_type, [obj(0, [{"x": {"label": "a"}}])], ["a"])
