from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import flows, workers, workforce
from crowdloop.clock import ManualClock
from crowdloop.conditions import FIELD as CONDITIONS_FIELD
from crowdloop.conditions import check_activation_conditions
from crowdloop.errors import AlreadyExists, InUse, InvalidInput, NotFound
from crowdloop.model import FlowDefinitionStatus
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import assignments, human_loops, templates

CALLER = Caller("123456789012", "us-east-1")
OTHER = Caller("210987654321", "us-east-1")
TEMPLATE = "<crowd-form><p>{{ task.input.text }}</p></crowd-form>"
_SEQ = itertools.count()


def _team(svc: Services, caller: Caller = CALLER, name: str = "raters") -> str:
    return workforce.create_workteam(
        svc, caller, name, description="d", member_definitions=[{"OidcMemberDefinition": {"Groups": ["g"]}}]
    ).arn


def _config(svc: Services, caller: Caller = CALLER, **extra: Any) -> dict[str, Any]:
    n = next(_SEQ)
    ui = flows.create_human_task_ui(svc, caller, f"ui-{n}", TEMPLATE)
    return {
        "WorkteamArn": _team(svc, caller, f"team-{n}"),
        "HumanTaskUiArn": ui.arn,
        "TaskTitle": "Rank",
        "TaskDescription": "Pick one",
        "TaskCount": 1,
        **extra,
    }


def _flow(
    svc: Services, name: str = "fd", config: dict[str, Any] | None = None, path: str = "s3://bucket/out/"
) -> flows.FlowDefinition:
    return flows.create_flow_definition(
        svc,
        CALLER,
        name,
        role_arn="arn:aws:iam::123456789012:role/a2i",
        output_config={"S3OutputPath": path},
        human_loop_config=config or _config(svc),
    )


# --- human task UIs -------------------------------------------------------------------------------------


def test_create_and_describe_human_task_ui(services: Services) -> None:
    ui = flows.create_human_task_ui(services, CALLER, "rank-ui", TEMPLATE)
    assert ui.arn == "arn:aws:sagemaker:us-east-1:123456789012:human-task-ui/rank-ui"
    assert ui.template_sha256 == hashlib.sha256(TEMPLATE.encode()).hexdigest()
    assert flows.describe_human_task_ui(services, CALLER, "rank-ui") == ui
    assert flows.get_template(services, ui.template_sha256) == TEMPLATE
    assert flows.template_url(services.settings, ui.template_sha256) == (
        f"http://{services.settings.portal_host}/_crowdloop/templates/{ui.template_sha256}"
    )


def test_human_task_ui_name_must_be_unique_per_scope(services: Services) -> None:
    flows.create_human_task_ui(services, CALLER, "ui", TEMPLATE)
    with pytest.raises(AlreadyExists, match="Human task UI ui already exists"):
        flows.create_human_task_ui(services, CALLER, "ui", "<p>other</p>")
    flows.create_human_task_ui(services, OTHER, "ui", TEMPLATE)  # another account is another namespace
    with pytest.raises(NotFound):
        flows.describe_human_task_ui(services, Caller("123456789012", "eu-west-1"), "ui")


def test_liquid_syntax_error_is_invalid_input(services: Services) -> None:
    with pytest.raises(InvalidInput, match="not a valid Liquid template") as caught:
        flows.create_human_task_ui(services, CALLER, "ui", "{% if task.input %}unclosed")
    assert caught.value.field == "uiTemplate.content"


def test_same_content_is_stored_once(services: Services) -> None:
    flows.create_human_task_ui(services, CALLER, "a", TEMPLATE)
    flows.create_human_task_ui(services, CALLER, "b", TEMPLATE)
    with services.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(templates)).scalar_one() == 1


def test_delete_human_task_ui_keeps_template_and_frees_name(services: Services) -> None:
    ui = flows.create_human_task_ui(services, CALLER, "ui", TEMPLATE)
    flows.delete_human_task_ui(services, CALLER, "ui")
    with pytest.raises(NotFound, match="Could not find human task UI ui"):
        flows.describe_human_task_ui(services, CALLER, "ui")
    with pytest.raises(NotFound):
        flows.delete_human_task_ui(services, CALLER, "ui")
    assert flows.list_human_task_uis(services, CALLER).items == []
    assert flows.get_template(services, ui.template_sha256) == TEMPLATE
    flows.create_human_task_ui(services, CALLER, "ui", TEMPLATE)


def test_list_human_task_uis_orders_filters_and_pages(services: Services, clock: ManualClock) -> None:
    start = clock.now()
    for i in range(5):
        flows.create_human_task_ui(services, CALLER, f"ui-{i}", TEMPLATE)
        clock.advance(10)
    flows.create_human_task_ui(services, OTHER, "not-mine", TEMPLATE)
    names = [ui.name for ui in flows.list_human_task_uis(services, CALLER, max_results=100).items]
    assert names == ["ui-4", "ui-3", "ui-2", "ui-1", "ui-0"]  # Descending by default

    seen, token = [], None
    while True:
        page = flows.list_human_task_uis(services, CALLER, sort_order="Ascending", max_results=2, next_token=token)
        seen += [ui.name for ui in page.items]
        token = page.next_token
        if token is None:
            break
        assert len(page.items) == 2
    assert seen == ["ui-0", "ui-1", "ui-2", "ui-3", "ui-4"]

    window = flows.list_human_task_uis(
        services,
        CALLER,
        created_after=start + timedelta(seconds=10),
        created_before=start + timedelta(seconds=30),
        sort_order="Ascending",
    )
    assert [ui.name for ui in window.items] == ["ui-1", "ui-2"]  # after inclusive, before exclusive


def test_list_tokens_are_bound_to_their_query(services: Services) -> None:
    for i in range(3):
        flows.create_human_task_ui(services, CALLER, f"ui-{i}", TEMPLATE)
    token = flows.list_human_task_uis(services, CALLER, max_results=1).next_token
    assert token
    with pytest.raises(InvalidInput, match="NextToken"):
        flows.list_human_task_uis(services, CALLER, sort_order="Ascending", next_token=token)
    with pytest.raises(InvalidInput, match="NextToken"):
        flows.list_flow_definitions(services, CALLER, next_token=token)
    with pytest.raises(InvalidInput, match="NextToken"):
        flows.list_human_task_uis(services, CALLER, next_token="garbage!")


def test_render_ui_template_from_content_and_arn(services: Services) -> None:
    result = flows.render_ui_template(services, CALLER, task_input='{"text": "a < b"}', content=TEMPLATE)
    assert result.errors == []
    assert "<p>a &lt; b</p>" in result.html
    ui = flows.create_human_task_ui(services, CALLER, "ui", TEMPLATE)
    assert flows.render_ui_template(
        services, CALLER, task_input='{"text": "x"}', human_task_ui_arn=ui.arn
    ).html == result.html.replace("a &lt; b", "x")


def test_render_ui_template_errors(services: Services) -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        flows.render_ui_template(services, CALLER, task_input="{}")
    with pytest.raises(InvalidInput, match="exactly one"):
        flows.render_ui_template(
            services,
            CALLER,
            task_input="{}",
            content=TEMPLATE,
            human_task_ui_arn="arn:aws:sagemaker:us-east-1:123456789012:human-task-ui/x",
        )
    with pytest.raises(InvalidInput, match=r"task\.input") as caught:
        flows.render_ui_template(services, CALLER, task_input="not json", content=TEMPLATE)
    assert caught.value.field == "task.input"
    with pytest.raises(NotFound, match="human-task-ui/missing"):
        flows.render_ui_template(
            services,
            CALLER,
            task_input="{}",
            human_task_ui_arn="arn:aws:sagemaker:us-east-1:123456789012:human-task-ui/missing",
        )
    broken = flows.render_ui_template(services, CALLER, task_input="{}", content="{{ 1 | no_such_filter }}")
    assert broken.errors and broken.errors[0][0] == "UndefinedFilter"


def test_render_uses_grant_read_access(services: Services) -> None:
    result = flows.render_ui_template(
        services,
        CALLER,
        task_input='{"u": "s3://b/k.png"}',
        content="{{ task.input.u | grant_read_access }}",
        grant_read_access=lambda uri: uri.replace("s3://", "https://signed/"),
    )
    assert result.html == "https://signed/b/k.png"


# --- flow definitions -----------------------------------------------------------------------------------


def test_create_flow_definition_echoes_request_without_defaults(services: Services) -> None:
    config = _config(services, TaskKeywords=["rank"])
    fd = _flow(services, config=config, path="s3://bucket/out/")
    assert fd.arn == "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/fd"
    assert fd.status is FlowDefinitionStatus.INITIALIZING
    assert fd.request == {
        "HumanLoopConfig": config,
        "OutputConfig": {"S3OutputPath": "s3://bucket/out/"},
        "RoleArn": "arn:aws:iam::123456789012:role/a2i",
    }
    assert (fd.task_time_limit_seconds, fd.task_availability_lifetime_seconds) == (3600, 864000)
    assert fd.output_path == "s3://bucket/out"
    assert fd.template_sha256 == hashlib.sha256(TEMPLATE.encode()).hexdigest()


def test_status_becomes_active_after_first_describe(services: Services) -> None:
    _flow(services)
    assert flows.describe_flow_definition(services, CALLER, "fd").status is FlowDefinitionStatus.INITIALIZING
    assert flows.describe_flow_definition(services, CALLER, "fd").status is FlowDefinitionStatus.ACTIVE


def test_status_becomes_active_one_second_after_creation(services: Services, clock: ManualClock) -> None:
    _flow(services)
    assert flows.list_flow_definitions(services, CALLER).items[0].status is FlowDefinitionStatus.INITIALIZING
    clock.advance(1)
    assert flows.list_flow_definitions(services, CALLER).items[0].status is FlowDefinitionStatus.ACTIVE
    assert flows.describe_flow_definition(services, CALLER, "fd").status is FlowDefinitionStatus.ACTIVE


def test_flow_definition_requires_human_loop_config(services: Services) -> None:
    with pytest.raises(InvalidInput, match="Value null at 'humanLoopConfig'") as caught:
        flows.create_flow_definition(
            services,
            CALLER,
            "fd",
            role_arn="arn:aws:iam::123456789012:role/r",
            output_config={"S3OutputPath": "s3://b"},
            human_loop_config=None,
        )
    assert caught.value.field == "humanLoopConfig"


@pytest.mark.parametrize(
    "member, field",
    [("WorkteamArn", "humanLoopConfig.workteamArn"), ("HumanTaskUiArn", "humanLoopConfig.humanTaskUiArn")],
)
def test_unknown_team_or_ui_is_invalid_input(services: Services, member: str, field: str) -> None:
    config = _config(services)
    config[member] = config[member].replace("123456789012", "210987654321")  # exists, but not ours
    with pytest.raises(InvalidInput, match="does not exist") as caught:
        _flow(services, config=config)
    assert caught.value.field == field
    config = _config(services)
    config[member] += "-missing"
    with pytest.raises(InvalidInput, match="does not exist"):
        _flow(services, config=config)


def test_duplicate_flow_definition_name(services: Services) -> None:
    config = _config(services)
    _flow(services, config=config)
    with pytest.raises(AlreadyExists, match="Flow definition fd already exists"):
        _flow(services, config=config)


def test_time_limits_are_capped(services: Services) -> None:
    with pytest.raises(InvalidInput, match="less than or equal to 28800") as caught:
        _flow(services, config=_config(services, TaskTimeLimitInSeconds=28801))
    assert caught.value.field == "humanLoopConfig.taskTimeLimitInSeconds"
    with pytest.raises(InvalidInput, match="less than or equal to 864000"):
        _flow(services, "fd2", config=_config(services, TaskAvailabilityLifetimeInSeconds=864001))


@pytest.mark.parametrize(
    "given, expected",
    [
        ("s3://bucket", "s3://bucket"),
        ("s3://bucket/", "s3://bucket"),
        ("s3://bucket/a/b/", "s3://bucket/a/b"),
        ("https://bucket.s3.amazonaws.com/a/b/", "s3://bucket/a/b"),
        ("https://bucket.s3.us-west-2.amazonaws.com/a", "s3://bucket/a"),
        ("https://my.bucket.s3-eu-west-1.amazonaws.com/a", "s3://my.bucket/a"),
        ("https://s3.us-east-1.amazonaws.com/bucket/a%20b/", "s3://bucket/a b"),
        ("https://s3.amazonaws.com/bucket", "s3://bucket"),
    ],
)
def test_output_path_is_normalised(given: str, expected: str) -> None:
    assert flows.normalize_output_path(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://example.com/bucket/a",
        "s3://b/../x",
        "s3://bucket//x",
        "s3://",
        "https://s3.amazonaws.com/",
        "ftp://bucket/a",
        "s3://-bad/x",
        "https://bucket.s3.amazonaws.com/a?x=1",
    ],
)
def test_bad_output_paths_are_rejected(given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        flows.normalize_output_path(given)
    assert caught.value.field == "outputConfig.s3OutputPath"


def test_request_source_and_activation_config_go_together(services: Services) -> None:
    source = {"AwsManagedHumanLoopRequestSource": "AWS/Rekognition/DetectModerationLabels/Image/V3"}
    conditions = {"Conditions": [{"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}}]}
    activation = {"HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": json.dumps(conditions)}}
    common = {"role_arn": "arn:aws:iam::123456789012:role/r", "output_config": {"S3OutputPath": "s3://b"}}
    config = _config(services)
    with pytest.raises(InvalidInput, match="together"):
        flows.create_flow_definition(services, CALLER, "fd", human_loop_config=config, request_source=source, **common)
    with pytest.raises(InvalidInput, match="together"):
        flows.create_flow_definition(
            services, CALLER, "fd", human_loop_config=config, activation_config=activation, **common
        )
    fd = flows.create_flow_definition(
        services, CALLER, "fd", human_loop_config=config, request_source=source, activation_config=activation, **common
    )
    assert fd.request["HumanLoopActivationConfig"] == activation
    assert fd.request["HumanLoopRequestSource"] == source


def test_list_flow_definitions_pages(services: Services, clock: ManualClock) -> None:
    config = _config(services)
    for i in range(3):
        _flow(services, f"fd-{i}", config=config)
        clock.advance(1)
    first = flows.list_flow_definitions(services, CALLER, max_results=2)
    assert [fd.name for fd in first.items] == ["fd-2", "fd-1"]
    assert first.next_token
    second = flows.list_flow_definitions(services, CALLER, max_results=2, next_token=first.next_token)
    assert [fd.name for fd in second.items] == ["fd-0"] and second.next_token is None


def test_only_active_flow_definitions_can_be_deleted(services: Services, clock: ManualClock) -> None:
    _flow(services)
    with pytest.raises(InUse, match="fd is Initializing"):
        flows.delete_flow_definition(services, CALLER, "fd")
    clock.advance(1)
    flows.delete_flow_definition(services, CALLER, "fd")
    assert flows.describe_flow_definition(services, CALLER, "fd").status is FlowDefinitionStatus.DELETING
    with pytest.raises(InUse, match="fd is Deleting"):
        flows.delete_flow_definition(services, CALLER, "fd")
    with pytest.raises(AlreadyExists):
        _flow(services, config=_config(services))
    with pytest.raises(NotFound, match="Could not find flow definition nope"):
        flows.delete_flow_definition(services, CALLER, "nope")


def _loop(conn: Any, fd: flows.FlowDefinition, name: str, status: str, written: bool = False, answers: int = 0) -> int:
    now = fd.created_at
    return int(
        conn.execute(
            human_loops.insert()
            .values(
                account=CALLER.account,
                region=CALLER.region,
                name=name,
                name_key=name,
                arn=f"arn-{name}",
                flow_definition_id=fd.id,
                status=status,
                created_at=now,
                input_content="{}",
                output_uri="s3://b/o",
                template_sha256=fd.template_sha256,
                task_count=1,
                open_slots=1,
                answers_count=answers,
                task_time_limit_seconds=3600,
                available_until=now + timedelta(days=1),
                output_written=written,
            )
            .returning(human_loops.c.id)
        ).scalar_one()
    )


def test_delete_withdraws_work_and_purge_waits_for_leases(services: Services, clock: ManualClock) -> None:
    fd = _flow(services)
    worker = workers.add_worker(services, "w@example.org")
    with services.store.write() as conn:
        idle = _loop(conn, fd, "idle", "InProgress")
        held = _loop(conn, fd, "held", "InProgress")
        unwritten = _loop(conn, fd, "unwritten", "Completed")
        _loop(conn, fd, "written", "Completed", written=True)
        stopped = _loop(conn, fd, "stopped", "Stopped", answers=1)
        _loop(conn, fd, "stopped-empty", "Stopped")
        stopping = _loop(conn, fd, "stopping", "Stopping")
        lease = conn.execute(
            assignments.insert()
            .values(
                loop_id=held,
                worker_id=worker.id,
                state="leased",
                accepted_at=fd.created_at,
                expires_at=fd.created_at + timedelta(hours=1),
            )
            .returning(assignments.c.id)
        ).scalar_one()
    clock.advance(1)
    flows.delete_flow_definition(services, CALLER, "fd")
    with services.store.write() as conn:
        left = dict(conn.execute(sa.select(human_loops.c.id, human_loops.c.open_slots)).all())
        assert left == {unwritten: 1, stopped: 1, stopping: 1}  # the held lease was withdrawn: loop gone
        assert idle not in left and held not in left
        assert conn.execute(sa.select(assignments.c.id).where(assignments.c.id == lease)).first() is None
        assert flows.purge_deleted_flow_definitions(conn) == 0  # outputs of "unwritten", "stopped" pending
        conn.execute(human_loops.update().where(human_loops.c.id.in_([unwritten, stopped])).values(output_written=True))
        assert flows.purge_deleted_flow_definitions(conn) == 0  # "stopping" still ends its leases
        conn.execute(human_loops.update().where(human_loops.c.id == stopping).values(status="Stopped"))
        assert flows.purge_deleted_flow_definitions(conn) == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(human_loops)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(assignments)).scalar_one() == 0
    with pytest.raises(NotFound):
        flows.describe_flow_definition(services, CALLER, "fd")
    assert flows.list_flow_definitions(services, CALLER).items == []
    assert _flow(services, config=_config(services)).status is FlowDefinitionStatus.INITIALIZING


def test_purge_ignores_active_flow_definitions(services: Services, clock: ManualClock) -> None:
    _flow(services)
    clock.advance(5)
    with services.store.write() as conn:
        assert flows.purge_deleted_flow_definitions(conn) == 0
    assert flows.describe_flow_definition(services, CALLER, "fd").status is FlowDefinitionStatus.ACTIVE


# --- activation conditions (spec §9) ----------------------------------------------------------------------

_REKOGNITION = "AWS/Rekognition/DetectModerationLabels/Image/V3"
_TEXTRACT = "AWS/Textract/AnalyzeDocument/Forms/V1"
_CHECK = {
    "ConditionType": "ModerationLabelConfidenceCheck",
    "ConditionParameters": {"ModerationLabelName": "Suggestive", "ConfidenceLessThan": 98},
}
_SAMPLE = {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}}


@pytest.mark.parametrize(
    "source, document",
    [
        (_REKOGNITION, {"Conditions": [_CHECK]}),
        (_REKOGNITION, {"Conditions": [{"Or": [_CHECK, {"And": [_CHECK, _SAMPLE]}]}]}),
        (
            _TEXTRACT,
            {
                "Conditions": [
                    {
                        "ConditionType": "ImportantFormKeyConfidenceCheck",
                        "ConditionParameters": {
                            "ImportantFormKey": "Mail address",
                            "ImportantFormKeyAliases": ["address"],
                            "KeyValueBlockConfidenceLessThan": 60,
                            "WordBlockConfidenceLessThan": 90,
                        },
                    },
                    {"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "*"}},
                ]
            },
        ),
    ],
)
def test_valid_activation_conditions(source: str, document: dict[str, Any]) -> None:
    check_activation_conditions(json.dumps(document), source)


@pytest.mark.parametrize(
    "source, text, reason",
    [
        (_REKOGNITION, "", "not valid JSON"),
        (_REKOGNITION, "[]", "single member"),
        (_REKOGNITION, '{"Conditions": []}', "non-empty list"),
        (_REKOGNITION, json.dumps({"Conditions": [{"Or": [_CHECK]}]}), "at least two"),
        (
            _REKOGNITION,
            json.dumps({"Conditions": [{"Or": [_CHECK, {"And": [_CHECK, {"Or": [_CHECK, _SAMPLE]}]}]}]}),
            "at most 2 levels",
        ),
        (_TEXTRACT, json.dumps({"Conditions": [_CHECK]}), "is not one of"),
        (
            _REKOGNITION,
            json.dumps(
                {"Conditions": [{"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 0}}]}
            ),
            "between 0.01 and 100",
        ),
        (
            _REKOGNITION,
            json.dumps(
                {
                    "Conditions": [
                        {
                            "ConditionType": "ModerationLabelConfidenceCheck",
                            "ConditionParameters": {"ModerationLabelName": "*"},
                        }
                    ]
                }
            ),
            "one or two Confidence",
        ),
        (
            _REKOGNITION,
            json.dumps(
                {
                    "Conditions": [
                        {
                            "ConditionType": "Sampling",
                            "ConditionParameters": {"RandomSamplingPercentage": 1, "Bogus": 1},
                        }
                    ]
                }
            ),
            "no parameter Bogus",
        ),
    ],
)
def test_invalid_activation_conditions(source: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        check_activation_conditions(text, source)
    assert caught.value.field == CONDITIONS_FIELD
