"""labeling.objects.page_objects: a job's objects by datasetObjectId, keyset pages (with and without a state),
each an index seek on SQLite and PostgreSQL; the label read from the stored output content."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crowdloop.errors import InvalidInput, NotFound
from crowdloop.labeling import objects
from crowdloop.labeling.objects import page_objects, read_label
from crowdloop.runtime import Services
from crowdloop.store.tables import labeling_jobs, labeling_objects
from tests.domain.loopsetup import CALLER
from tests.domain.plans import plan, statements

STATES = ["labeled", "released", "queued", "failed", "labeled", "withdrawn", "labeled", "queued", "labeled", "skipped"]


def _job(svc: Services, name: str, lines: int = len(STATES)) -> int:
    now = svc.clock.now()
    with svc.store.write() as conn:
        job_id = int(
            conn.execute(
                labeling_jobs.insert()
                .values(
                    account=CALLER.account,
                    region=CALLER.region,
                    name=name,
                    name_key=name.lower(),
                    arn=f"arn:aws:sagemaker:{CALLER.region}:{CALLER.account}:labeling-job/{name.lower()}",
                    status="InProgress",
                    created_at=now,
                    updated_at=now,
                    job_reference_code=CALLER.account + "x" * 16,
                    workteam_arn=f"arn:aws:sagemaker:{CALLER.region}:{CALLER.account}:workteam/private-crowd/t",
                    task_type="ImageMultiClass",
                    request={"LabelAttributeName": "pet", "OutputConfig": {"S3OutputPath": "s3://b/out/"}},
                    next_step_at=now,
                    objects=lines,
                )
                .returning(labeling_jobs.c.id)
            ).scalar_one()
        )
        label = {"pet": 1, "pet-metadata": {"class-name": "dog", "confidence": 0.95, "type": "groundtruth/x"}}
        conn.execute(
            labeling_objects.insert(),
            [
                {
                    "job_id": job_id,
                    "object_index": n,
                    "line": json.dumps({"source-ref": f"s3://pictures/{n}.jpg"}),
                    "state": STATES[n % len(STATES)],
                    "label": json.dumps(label) if STATES[n % len(STATES)] == "labeled" else None,
                    "failure_reason": "no answer" if STATES[n % len(STATES)] == "failed" else None,
                }
                for n in range(lines)
            ],
        )
        conn.exec_driver_sql("ANALYZE")
    return job_id


def test_pages_follow_each_other_with_and_without_a_state(services: Services) -> None:
    _job(services, "Pets")
    _job(services, "Beside")  # another job's objects share the indexes
    seen, after = [], None
    while True:
        page = page_objects(services, CALLER, "pets", after=after, limit=3)
        seen += [o.index for o in page.objects]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == list(range(len(STATES)))
    labeled = page_objects(services, CALLER, "Pets", state="labeled", limit=2)
    assert [o.index for o in labeled.objects] == [0, 4] and labeled.next_after == 4
    rest = page_objects(services, CALLER, "Pets", state="labeled", after=4, limit=2)
    assert [o.index for o in rest.objects] == [6, 8] and rest.next_after is None
    first = labeled.objects[0]
    assert first.source == "s3://pictures/0.jpg" and first.source_is_ref and first.label is not None
    assert (first.label.value, first.label.class_names, first.label.confidence) == (1, ["dog"], 0.95)
    failed = page_objects(services, CALLER, "Pets", state="failed").objects
    assert [(o.index, o.label, o.failure_reason) for o in failed] == [(3, None, "no answer")]


def test_bad_arguments_and_unknown_jobs(services: Services) -> None:
    _job(services, "Pets", lines=1)
    with pytest.raises(InvalidInput):
        page_objects(services, CALLER, "Pets", state="done")
    for limit in (0, objects.MAX_PAGE + 1):
        with pytest.raises(InvalidInput):
            page_objects(services, CALLER, "Pets", limit=limit)
    with pytest.raises(NotFound):
        page_objects(services, CALLER, "other")


@pytest.mark.parametrize("state", [None, "labeled"])
def test_a_page_deep_in_is_an_index_seek(services: Services, state: str | None) -> None:
    _job(services, "Pets", lines=200)
    _job(services, "Beside", lines=200)
    with statements("labeling_objects") as seen:
        page_objects(services, CALLER, "Pets", state=state, after=120, limit=5)
    assert len(seen) == 1
    found = plan(services, *seen[0])
    assert "TEMP B-TREE" not in found and "Sort" not in found and "Seq Scan" not in found, found
    if services.store.is_sqlite:
        index = "ix_labeling_objects_state" if state else "sqlite_autoindex_labeling_objects_1"
        assert any(index in line and "object_index>?" in line for line in found.splitlines()), found
    else:
        index = "ix_labeling_objects_state" if state else "pk_labeling_objects"
        condition = next(line for line in found.splitlines() if "Index Cond" in line)
        assert index in found and "object_index >" in condition, found


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"a": 0, "a-metadata": {"class-name": "cat", "confidence": 0.5}}, (0, ["cat"], 0.5)),
        (
            {"a": [0, 2], "a-metadata": {"class-map": {"0": "cat", "2": "fox"}, "confidence-map": {"0": 0.9}}},
            ([0, 2], ["cat", "fox"], 0.9),
        ),
        ({"a": {"answers": ["x"]}}, ({"answers": ["x"]}, [], None)),
        ({"other": 1}, ({"other": 1}, [], None)),
    ],
)
def test_the_label_of_the_output_content(content: dict[str, Any], expected: tuple[Any, ...]) -> None:
    label = read_label(json.dumps(content), "a")
    assert (label.value, label.class_names, label.confidence) == expected
    assert json.loads(label.compact) == content
