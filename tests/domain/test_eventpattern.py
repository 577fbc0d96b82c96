"""EventBridge event patterns: the examples of AWS's "Event patterns" and "Content filtering in Amazon
EventBridge event patterns" pages (each with events that match and events that do not), the patterns the
events spec keeps matching, refused patterns with their messages, and a property: a pattern built from an
event's own values always matches it."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crowdloop.errors import InvalidInput
from crowdloop.eventpattern import MAX_PATTERN_CHARS, EventPattern, parse_pattern

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

A2I_EVENT = {
    "version": "0",
    "id": "12345678-1111-2222-3333-12345EXAMPLE",
    "detail-type": "SageMaker A2I HumanLoop Status Change",
    "source": "aws.sagemaker",
    "account": "111111111111",
    "time": "2019-11-14T17:49:25Z",
    "region": "us-east-1",
    "resources": ["arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1"],
    "detail": {
        "creationTime": "2019-11-14T17:37:36.740Z",
        "failureCode": None,
        "failureReason": None,
        "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111111111111:flow-definition/flowdef-nov-12",
        "humanLoopArn": "arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1",
        "humanLoopName": "humanloop-nov-14-1",
        "humanLoopOutput": {
            "outputS3Uri": "s3://bucket/flowdef-nov-12/2019/11/14/17/37/36/humanloop-nov-14-1/output.json"
        },
        "humanLoopStatus": "Completed",
    },
}


def pattern(document: dict[str, Any]) -> EventPattern:
    return parse_pattern(json.dumps(document))


def detail(**fields: Any) -> dict[str, Any]:
    return {"source": "test", "detail": fields}


# (pattern, events that match, events that do not), from AWS's pages unless noted.
EXAMPLES: list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = [
    (  # "Event patterns": the EC2 termination pattern
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["terminated"]},
        },
        [EC2_EVENT],
        [{**EC2_EVENT, "detail": {"state": "running"}}, {**EC2_EVENT, "source": "aws.s3"}, {"source": "aws.ec2"}],
    ),
    (  # "Matching on multiple values": either source
        {"source": ["aws.ec2", "aws.fargate"]},
        [{"source": "aws.ec2"}, {"source": "aws.fargate"}],
        [{"source": "aws.s3"}, {"source": ["aws.s3"]}, {}],
    ),
    (  # arrays: the intersection of the pattern's and the event's values is not empty
        {
            "resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
            ]
        },
        [
            {
                "resources": [
                    "arn:aws:autoscaling:us-east-1:123456789012:group",
                    "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                ]
            }
        ],
        [{"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}, {"resources": []}],
    ),
    (  # null values and empty strings are not interchangeable
        {"detail": {"eventVersion": [""]}},
        [detail(eventVersion="")],
        [detail(eventVersion=None), detail(eventVersion="1"), detail()],
    ),
    (
        {"detail": {"responseElements": [None]}},
        [detail(responseElements=None)],
        [detail(responseElements=""), detail()],
    ),
    (  # prefix
        {"time": [{"prefix": "2017-10-02"}]},
        [{"time": "2017-10-02T18:43:48Z"}],
        [{"time": "2017-10-03T18:43:48Z"}, {"time": 20171002}, {}],
    ),
    (  # prefix, ignoring case
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        [detail(service="EventBridge"), detail(service="EVENTBRIDGE"), detail(service="eventbus")],
        [detail(service="Lambda"), detail(service="Event")],
    ),
    (  # suffix
        {"FileName": [{"suffix": ".png"}]},
        [{"FileName": "image.png"}],
        [{"FileName": "image.PNG"}, {"FileName": "image.png.txt"}],
    ),
    (
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        [detail(FileName="image.png"), detail(FileName="image.PNG")],
        [detail(FileName="image.jpg")],
    ),
    (  # anything-but: a string, a number, lists of them
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        [detail(state="running"), detail(state=["initializing", "running"])],
        [detail(state="initializing"), detail()],
    ),
    (
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        [detail(**{"x-limit": 124})],
        [detail(**{"x-limit": 123}), detail(**{"x-limit": 123.0})],
    ),
    (
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        [detail(state="running")],
        [detail(state="stopped"), detail(state="overloaded")],
    ),
    (
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        [detail(**{"x-limit": 150})],
        [detail(**{"x-limit": 200})],
    ),
    (  # anything-but with prefix, suffix, equals-ignore-case and wildcard
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        [detail(state="running")],
        [detail(state="initializing")],
    ),
    (
        {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
        [detail(FileName="notes.md")],
        [detail(FileName="notes.txt")],
    ),
    (
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}},
        [detail(state="running")],
        [detail(state="STOPPED"), detail(state="overloaded")],
    ),
    (
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        [detail(FilePath="/usr/bin/tool")],
        [detail(FilePath="/usr/lib/libc.so")],
    ),
    (  # numeric ranges and equality
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        [detail(**{"c-count": 5, "d-count": 9.99, "x-limit": 301.8})],
        [
            detail(**{"c-count": 0, "d-count": 9, "x-limit": 301.8}),
            detail(**{"c-count": 5.5, "d-count": 9, "x-limit": 301.8}),
            detail(**{"c-count": 1, "d-count": 10, "x-limit": 301.8}),
            detail(**{"c-count": 1, "d-count": 9, "x-limit": 301}),
            detail(**{"c-count": "1", "d-count": 9, "x-limit": 301.8}),
        ],
    ),
    (  # IP addresses
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        [detail(sourceIPAddress="10.0.0.255")],
        [
            detail(sourceIPAddress="10.0.1.0"),
            detail(sourceIPAddress="not an address"),
            detail(sourceIPAddress="2001:db8::1"),
        ],
    ),
    (  # ours: IPv6 ranges too
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        [detail(sourceIPAddress="2001:db8::1")],
        [detail(sourceIPAddress="2001:db9::1"), detail(sourceIPAddress="10.0.0.1")],
    ),
    (  # exists
        {"detail": {"state": [{"exists": True}]}},
        [detail(state="terminated"), detail(state=None)],
        [detail(), detail(state={"name": "terminated"}), {"source": "test"}],
    ),
    (
        {"detail": {"state": [{"exists": False}]}},
        [detail(), {"source": "test"}, detail(state={"name": "terminated"})],
        [detail(state="terminated")],
    ),
    (  # exists works on leaves only
        {"detail": [{"exists": True}]},
        [{"detail": "a leaf"}],
        [detail(state="running")],
    ),
    (  # equals-ignore-case
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        [EC2_EVENT],
        [{"detail-type": "EC2 Instance State-change"}],
    ),
    (  # wildcard
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        [{"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}],
        [{"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/default"}],
    ),
    (
        {"detail": {"FileName": [{"wildcard": "dir/*.png"}]}},
        [detail(FileName="dir/image.png"), detail(FileName="dir/sub/image.png")],
        [detail(FileName="dir/image.jpg"), detail(FileName="other/image.png")],
    ),
    (  # ours: escaped wildcard characters are literal
        {"key": [{"wildcard": "a\\*b\\\\c"}]},
        [{"key": "a*b\\c"}],
        [{"key": "axb\\c"}],
    ),
    (  # $or
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        [detail(**{"c-count": 3}), detail(**{"d-count": 2}), detail(**{"x-limit": 301.8})],
        [detail(**{"c-count": 7, "d-count": 11}), detail()],
    ),
    (
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}],
        },
        [
            {"source": "aws.cloudwatch", "metricName": "ReadLatency"},
            {"source": "aws.cloudwatch", "namespace": "AWS/ES"},
        ],
        [{"source": "aws.ec2", "metricName": "ReadLatency"}, {"source": "aws.cloudwatch", "namespace": "AWS/S3"}],
    ),
    (  # events.md §1: the A2I rule people write
        {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker A2I HumanLoop Status Change"],
            "detail": {
                "humanLoopStatus": ["Completed", "Failed", "Stopped"],
                "flowDefinitionArn": [{"prefix": "arn:aws:sagemaker:us-east-1:111111111111:flow-definition/"}],
            },
        },
        [A2I_EVENT, {**A2I_EVENT, "detail": {**A2I_EVENT["detail"], "humanLoopStatus": "Failed"}}],
        [{**A2I_EVENT, "detail": {**A2I_EVENT["detail"], "humanLoopStatus": "InProgress"}}],
    ),
    (  # ours: a nested pattern object matches any object of an array in the event
        {"detail": {"items": {"name": ["b"]}}},
        [detail(items=[{"name": "a"}, {"name": "b"}])],
        [detail(items=[{"name": "a"}]), detail(items="b")],
    ),
]


@pytest.mark.parametrize(("document", "matching", "other"), EXAMPLES, ids=[json.dumps(e[0])[:60] for e in EXAMPLES])
def test_documented_examples(
    document: dict[str, Any], matching: list[dict[str, Any]], other: list[dict[str, Any]]
) -> None:
    compiled = pattern(document)
    assert compiled.document == document
    assert [compiled.matches(event) for event in matching] == [True] * len(matching)
    assert [compiled.matches(event) for event in other] == [False] * len(other)


def test_exact_values_keep_their_json_types() -> None:
    assert pattern({"n": [1]}).matches({"n": 1.0})
    assert not pattern({"n": [1]}).matches({"n": True})
    assert not pattern({"n": [1]}).matches({"n": "1"})
    assert pattern({"b": [True]}).matches({"b": True})
    assert not pattern({"b": [True]}).matches({"b": 1})
    assert not pattern({"z": [None]}).matches({"z": False})


REFUSED = [
    ("[1, 2]", "pattern: must be a JSON object"),
    ("{", "pattern: is not valid JSON"),
    ('{"n": [NaN]}', "pattern: is not valid JSON (NaN is not a JSON number"),
    ("{}", "pattern: a pattern object must name at least one field"),
    ('{"detail": {"status": "Completed"}}', "detail.status: a pattern's leaves must be arrays"),
    ('{"detail": {}}', "detail: a pattern object must name at least one field"),
    ('{"source": []}', "source: a pattern's arrays must hold at least one value"),
    ('{"source": [["a"]]}', "source: a pattern's arrays must not hold arrays"),
    ('{"source": [{"prefix": "a", "suffix": "b"}]}', "source: a matcher object must have exactly one key, not 2"),
    ('{"source": [{"contains": "a"}]}', "source: unknown matcher 'contains'"),
    ('{"source": [{"prefix": 3}]}', 'source (prefix): takes a string or {"equals-ignore-case": string}'),
    ('{"source": [{"exists": "yes"}]}', "source (exists): exists takes true or false"),
    ('{"source": [{"equals-ignore-case": 1}]}', "source (equals-ignore-case): takes a string"),
    ('{"f": [{"wildcard": "a**b"}]}', "f (wildcard): consecutive '*' characters are not allowed"),
    ('{"f": [{"wildcard": "a\\\\nb"}]}', "f (wildcard): a backslash may only escape '*' or '\\'"),
    ('{"f": [{"anything-but": ["a", 1]}]}', "f (anything-but): takes a string, a number, or an array of only strings"),
    ('{"f": [{"anything-but": []}]}', "f (anything-but): takes at least one value"),
    ('{"f": [{"anything-but": {"prefix": ""}}]}', "f (anything-but): prefix must not be empty"),
    ('{"f": [{"anything-but": {"exists": true}}]}', "f (anything-but): unknown anything-but matcher 'exists'"),
    ('{"f": [{"numeric": [">", 5, "<", 1]}]}', "f (numeric): the lower bound must be below the upper bound"),
    ('{"f": [{"numeric": ["<", 5, ">", 1]}]}', "f (numeric): a range is a lower bound (> or >=) followed by an upper"),
    ('{"f": [{"numeric": ["!=", 5]}]}', "f (numeric): unknown operator '!='"),
    ('{"f": [{"numeric": [">", "5"]}]}', "f (numeric): > takes a number between -5.0e+09 and 5.0e+09"),
    ('{"f": [{"numeric": ["=", 6e9]}]}', "f (numeric): = takes a number between"),
    ('{"f": [{"numeric": [">", 1, "<"]}]}', "f (numeric): takes [operator, number]"),
    ('{"f": [{"cidr": "10.0.0.0/33"}]}', "f (cidr): '10.0.0.0/33' is not an IP address range (CIDR)"),
    ('{"$or": [{"a": ["1"]}]}', "$or: $or must be an array of at least two pattern objects"),
    ('{"d": {"$or": [{"a": ["1"]}, "b"]}}', "d.$or[1]: each $or alternative must be a pattern object"),
    ('{"$or": [{"a": ["1"]}, {"b": "2"}]}', "$or[1].b: a pattern's leaves must be arrays"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[text for text, _ in REFUSED])
def test_invalid_patterns_are_refused_naming_path_and_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_pattern(text)
    assert caught.value.message.startswith(message)
    assert caught.value.field == "pattern"


def test_limits_on_size_depth_and_values() -> None:
    at_limit = json.dumps({"source": ["x" * (MAX_PATTERN_CHARS - len('{"source": [""]}'))]})
    assert len(at_limit) == MAX_PATTERN_CHARS
    assert parse_pattern(at_limit).matches({"source": "x" * (MAX_PATTERN_CHARS - 16)})
    with pytest.raises(InvalidInput, match=r"^pattern: is 2049 characters long, more than 2048$"):
        parse_pattern(at_limit[:-2] + " ]}")
    deep: dict[str, Any] = {"leaf": ["x"]}
    for _ in range(16):
        deep = {"k": deep}
    with pytest.raises(InvalidInput, match=r"^k(\.k){15}: a pattern may nest at most 16 levels$"):
        parse_pattern(json.dumps(deep))
    assert parse_pattern(json.dumps(deep["k"])).document == deep["k"]
    many = json.dumps({"n": list(range(257))})
    with pytest.raises(InvalidInput, match=r"^n: the pattern holds more than 256 values$"):
        parse_pattern(many)
    assert parse_pattern(json.dumps({"n": list(range(256))})).matches({"n": 255})


# A pattern built from an event's own values always matches it.

_KEYS = st.text(string.ascii_letters + "-_", min_size=1, max_size=6)
_SCALARS = (
    st.text(string.ascii_letters + string.digits + " ./*\\:-", max_size=8)
    | st.integers(-(10**9), 10**9)
    | st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
_VALUES = st.recursive(
    _SCALARS | st.lists(_SCALARS, max_size=3),
    lambda inner: st.dictionaries(_KEYS, inner, min_size=1, max_size=3),
    max_leaves=8,
)
_EVENTS = st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=4)


def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _leaf_matcher(draw: st.DrawFn, value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    if not values:
        return {"exists": False}
    chosen = draw(st.sampled_from(values))
    options: list[Any] = [chosen, {"exists": True}, {"anything-but": "\u2603 never"}]
    if isinstance(chosen, str):
        cut = draw(st.integers(0, len(chosen)))
        options += [
            {"prefix": chosen[:cut]},
            {"suffix": chosen[cut:]},
            {"prefix": {"equals-ignore-case": chosen[:cut].swapcase()}},
            {"equals-ignore-case": chosen.swapcase()},
            {"wildcard": _escape_wildcard(chosen[:cut]) + "*"},
            {"wildcard": "*" + _escape_wildcard(chosen[cut:])},
            {"anything-but": {"prefix": chosen + "\u2603"}},
        ]
    elif isinstance(chosen, int | float) and not isinstance(chosen, bool):
        options += [
            {"numeric": ["=", chosen]},
            {"numeric": [">=", chosen, "<", chosen + 1]},
            {"anything-but": chosen + 1},
        ]
    return draw(st.sampled_from(options))


def _pattern_for(draw: st.DrawFn, event: dict[str, Any], top: bool = True) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(event)), min_size=1, unique=True))
    built: dict[str, Any] = {}
    for name in names:
        value = event[name]
        if isinstance(value, dict):
            built[name] = _pattern_for(draw, value, top=False)
        else:
            built[name] = [draw(st.sampled_from(["other", 0.5, None])), _leaf_matcher(draw, value)]
    if top and draw(st.booleans()):
        built = {"$or": [{"\u2603": ["absent"]}, built]}
    return built


@st.composite
def _events_with_patterns(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    event = draw(_EVENTS)
    return event, _pattern_for(draw, event)


@given(_events_with_patterns())
def test_a_pattern_built_from_an_events_own_values_matches_it(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    event, document = case
    text = json.dumps(document)
    assume(len(text) <= MAX_PATTERN_CHARS)
    assert parse_pattern(text).matches(event)
    assert not parse_pattern(json.dumps({**document, "\u2603": [{"exists": True}]})).matches(event)
