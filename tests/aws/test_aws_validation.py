"""Model validation: Coral-style messages as boto3 sees them, plus the validator's rules in isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from awskit import ACCOUNT, AwsServer, error_of
from botocore.exceptions import ClientError

from crowdloop.aws.validation import java_pattern, validate
from crowdloop.errors import InvalidInput

FD_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:flow-definition/fd"


def _flow(name: str = "fd-1", **config: Any) -> dict[str, Any]:
    return {
        "FlowDefinitionName": name,
        "RoleArn": "arn:aws:iam::111122223333:role/a2i",
        "HumanLoopConfig": {
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
            "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/ui",
            "TaskTitle": "Title",
            "TaskDescription": "Description",
            "TaskCount": 1,
            **config,
        },
        "OutputConfig": {"S3OutputPath": "s3://bucket/out"},
    }


def _message(call: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    return str(message)


# --- through boto3 -------------------------------------------------------------------------------------


def test_pattern_message_is_exactly_corals(aws: AwsServer) -> None:
    message = _message(lambda: aws.client("sagemaker").create_flow_definition(**_flow("FD_bad")))
    assert message == (
        "1 validation error detected: Value 'FD_bad' at 'flowDefinitionName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: "
        "[a-z0-9](-*[a-z0-9]){0,62}"
    )


def test_max_length_message(aws: AwsServer) -> None:
    name = "a" * 64
    message = _message(lambda: aws.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName=name))
    assert message == (
        f"1 validation error detected: Value '{name}' at 'humanLoopName' failed to satisfy "
        "constraint: Member must have length less than or equal to 63"
    )


def test_enum_and_range_messages_together(aws: AwsServer) -> None:
    message = _message(
        lambda: aws.client("sagemaker-a2i-runtime").list_human_loops(
            FlowDefinitionArn=FD_ARN, SortOrder="Sideways", MaxResults=1000
        )
    )
    assert message == (
        "2 validation errors detected: "
        "Value 'Sideways' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: "
        "[Ascending, Descending]; "
        "Value '1000' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
        "equal to 100"
    )


def test_nested_member_path_and_task_count_override(aws: AwsServer) -> None:
    sm = aws.client("sagemaker")
    sm.create_flow_definition(**_flow("fd-50", TaskCount=50))
    assert aws.fakes.calls["CreateFlowDefinition"][1]["HumanLoopConfig"]["TaskCount"] == 50
    message = _message(lambda: sm.create_flow_definition(**_flow("fd-51", TaskCount=51)))
    assert message == (
        "1 validation error detected: Value '51' at 'humanLoopConfig.taskCount' failed to "
        "satisfy constraint: Member must have value less than or equal to 50"
    )


def test_several_errors_across_levels(aws: AwsServer) -> None:
    flow = _flow("Bad_Name", TaskTitle="t" * 129)
    flow["Tags"] = [{"Key": "ok", "Value": "v"}, {"Key": "bad{key}", "Value": "v"}]
    message = _message(lambda: aws.client("sagemaker").create_flow_definition(**flow))
    assert message.startswith("3 validation errors detected: Value 'Bad_Name' at 'flowDefinitionName' ")
    assert (
        "; Value '" + "t" * 129 + "' at 'humanLoopConfig.taskTitle' failed to satisfy constraint: "
        "Member must have length less than or equal to 128; "
    ) in message
    assert message.endswith(
        "Value 'bad{key}' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
    )


def test_upper_case_human_loop_names_are_accepted(aws: AwsServer) -> None:
    aws.client("sagemaker-a2i-runtime").start_human_loop(
        HumanLoopName="Fraud-detector-1613589638354", FlowDefinitionArn=FD_ARN, HumanLoopInput={"InputContent": "{}"}
    )
    assert aws.fakes.calls["StartHumanLoop"][1]["HumanLoopName"] == "Fraud-detector-1613589638354"


def test_what_boto3_does_not_check_reaches_the_server(aws: AwsServer) -> None:
    message = _message(
        lambda: aws.client("sagemaker-a2i-runtime").start_human_loop(
            HumanLoopName="Weird Name%",
            FlowDefinitionArn="arn:aws:sagemaker:us-east-1:1:flow-definition/x",
            HumanLoopInput={"InputContent": "{}"},
        )
    )
    assert message.startswith("2 validation errors detected: Value 'Weird Name%' at 'humanLoopName' ")
    assert "Value 'arn:aws:sagemaker:us-east-1:1:flow-definition/x' at 'flowDefinitionArn'" in message


def test_required_members_from_a_non_boto3_client(aws: AwsServer) -> None:
    status, headers, body = aws.request(
        "POST", "/human-loops", body=b'{"HumanLoopInput": {}}', headers={"Content-Type": "application/json"}
    )
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
    assert body.decode() == (
        '{"__type":"ValidationException","message":"3 validation errors detected: '
        "Value null at 'humanLoopName' failed to satisfy constraint: Member must not be null; "
        "Value null at 'flowDefinitionArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'humanLoopInput.inputContent' failed to satisfy constraint: "
        'Member must not be null"}'
    )


# --- the validator on its own ----------------------------------------------------------------------------


def _errors(service: str, operation: str, params: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as exc:
        validate(service, operation, params)
    return exc.value.message


def test_wrong_json_types_are_reported() -> None:
    message = _errors(
        "sagemaker", "ListHumanTaskUis", {"MaxResults": "10", "SortOrder": 3, "CreationTimeAfter": "yesterday"}
    )
    assert message == (
        "3 validation errors detected: "
        "Value 'yesterday' at 'creationTimeAfter' failed to satisfy constraint: Member must be a timestamp; "
        "Value '3' at 'sortOrder' failed to satisfy constraint: Member must be a string; "
        "Value '10' at 'maxResults' failed to satisfy constraint: Member must be an integer"
    )


def test_booleans_are_not_integers() -> None:
    assert "Member must be an integer" in _errors("sagemaker", "ListHumanTaskUis", {"MaxResults": True})


def test_first_error_names_the_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate("sagemaker", "CreateFlowDefinition", _flow(TaskCount=0))
    assert exc.value.field == "humanLoopConfig.taskCount"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1582502400, datetime(2020, 2, 24, tzinfo=UTC)),
        (1582502400.5, datetime(2020, 2, 24, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2020-02-24T00:00:00Z", datetime(2020, 2, 24, tzinfo=UTC)),
        ("2020-02-24T00:00:00.123456Z", datetime(2020, 2, 24, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2020-02-24T01:00:00+01:00", datetime(2020, 2, 24, tzinfo=UTC)),
        ("2020-02-24T00:00:00", datetime(2020, 2, 24, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(value: Any, expected: datetime) -> None:
    result = validate("sagemaker", "ListHumanTaskUis", {"CreationTimeAfter": value})["CreationTimeAfter"]
    assert result == expected and result.utcoffset() is not None


def test_unknown_members_and_nulls_are_dropped() -> None:
    assert validate("sagemaker", "ListHumanTaskUis", {"Bogus": 1, "SortOrder": None, "MaxResults": 5}) == {
        "MaxResults": 5
    }


def test_sensitive_values_are_not_echoed() -> None:
    message = _errors(
        "sagemaker",
        "CreateWorkforce",
        {
            "WorkforceName": "w",
            "OidcConfig": {
                "ClientId": "id",
                "ClientSecret": "s3cr3t\n",
                "Issuer": "https://i",
                "AuthorizationEndpoint": "https://a",
                "TokenEndpoint": "https://t",
                "UserInfoEndpoint": "https://u",
                "LogoutEndpoint": "https://l",
                "JwksUri": "https://j",
            },
        },
    )
    assert "s3cr3t" not in message
    assert "Value at 'oidcConfig.clientSecret' failed to satisfy constraint" in message


def test_long_values_are_cut_in_messages() -> None:
    message = _errors("sagemaker", "CreateHumanTaskUi", {"HumanTaskUiName": "x" * 1000, "UiTemplate": {"Content": "c"}})
    assert f"Value '{'x' * 256}...' at 'humanTaskUiName'" in message


def test_template_content_accepts_any_character() -> None:
    content = "<p>\u00a0non-breaking\u2028 and\r\n😀</p>"
    params = validate("sagemaker", "CreateHumanTaskUi", {"HumanTaskUiName": "ui", "UiTemplate": {"Content": content}})
    assert params["UiTemplate"]["Content"] == content


def test_java_dot_does_not_match_line_terminators() -> None:
    message = _errors("sagemaker", "CreateFlowDefinition", _flow(TaskDescription="line\rbreak"))
    assert "at 'humanLoopConfig.taskDescription'" in message


@pytest.mark.parametrize(
    ("java", "python"),
    [
        (
            r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*",
            r"[\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF\t]*",
        ),
        (r"arn:[\p{Alnum}\-]+:\w+", r"arn:[a-zA-Z0-9\-]+:[a-zA-Z0-9_]+"),
        (r"[\S\s]+", r"[\S\s]+"),
        (r"\d{12}", r"[0-9]{12}"),
        (r"[.]x.", r"[.]x[^\n\r\u0085\u2028\u2029]"),
    ],
)
def test_java_patterns_are_translated(java: str, python: str) -> None:
    assert java_pattern(java) == python
