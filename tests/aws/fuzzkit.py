"""Building blocks of the fuzz test (test_fuzz.py): Hypothesis strategies generated from botocore's service
models, malformed variants of their requests, signed HTTP over a plain connection, and the check that
botocore can parse every answer.

A request is drawn in two steps: parameters shaped like the operation's input (values that pass the model
and values that hit the server's known resources), then one mutation (none, a missing required member, a
value of the wrong type, a huge or negative integer, NUL / control characters / an unpaired surrogate / a
very long string, deep nesting, an unknown member, a forged NextToken, or a raw body that is not the JSON
the protocol wants). Well-formed parameters go through botocore's own serializer; the rest are serialised
by hand the same way. Every request is signed with SigV4 for the world's region.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, HeadersDict, prepare_request_dict
from botocore.credentials import Credentials
from botocore.exceptions import ParamValidationError
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import strategies as st

from crowdloop.aws import a2i_runtime, sagemaker

SERVED: dict[str, tuple[str, ...]] = {
    "sagemaker": tuple(sagemaker.OPERATIONS),
    "sagemaker-a2i-runtime": tuple(a2i_runtime.OPERATIONS),
    # crowdloop/aws/s3.py serves these (everything else is NotImplemented or MethodNotAllowed)
    "s3": (
        "ListBuckets",
        "HeadBucket",
        "GetBucketLocation",
        "ListObjectsV2",
        "ListObjects",
        "GetObject",
        "HeadObject",
        "CreateBucket",
        "DeleteBucket",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
        "ListMultipartUploads",
    ),
    "sts": ("GetCallerIdentity",),
}
SIGNING_NAME = {"sagemaker": "sagemaker", "sagemaker-a2i-runtime": "sagemaker", "s3": "s3", "sts": "sts"}
MUTATIONS = (
    "none",
    "none",
    "none",
    "none",
    "drop_required",
    "wrong_type",
    "extreme_int",
    "bad_string",
    "long_string",
    "deep",
    "unknown_member",
    "forged_token",
    "raw_body",
)
_SESSION = botocore.session.get_session()


def service_model(service: str) -> ServiceModel:
    return _SESSION.get_service_model(service)


@dataclass
class World:
    """What exists on the server in the fuzz region: names and ARNs worth hitting, real NextTokens."""

    region: str
    known: list[str] = field(default_factory=list)
    by_member: dict[str, list[str]] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)


# --- parameters shaped like the model ---------------------------------------------------------------------

_CONTROL = "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\u2028\ufeff\ufffe"
_ODD = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\x01\x02\x1f",
        "\r\n",
        "\ud800",
        "x\udfffy",
        "\U0001f600",
        "\u202e",
        "<&>'\"",
        "%00",
        "../..",
        "{{ 7 * 7 }}",
        "\\",
        "\ufffe\uffff",
    ]
)
_TEXT = st.text(max_size=24) | st.text(alphabet=_CONTROL + "ab-/._:", max_size=12)


class Strategies:
    """Hypothesis strategies for one service's shapes, with the world's names mixed in."""

    def __init__(self, world: World) -> None:
        self.world = world

    def value(self, shape: Shape, depth: int = 0, member: str = "") -> st.SearchStrategy[Any]:
        kind = shape.type_name
        if kind == "string" and member in self.world.by_member:
            known = st.sampled_from(self.world.by_member[member])
            return st.one_of(known, known, self.string(shape))
        if isinstance(shape, StructureShape):
            return self.structure(shape, depth)
        if kind == "list":
            return st.lists(self.value(shape.member, depth + 1), max_size=0 if depth > 4 else 3)  # type: ignore[attr-defined]
        if kind == "map":
            return st.dictionaries(
                self.string(shape.key),
                self.value(shape.value, depth + 1),  # type: ignore[attr-defined]
                max_size=0 if depth > 4 else 3,
            )
        if kind == "string":
            return self.string(shape)
        if kind in ("integer", "long"):
            low, high = shape.metadata.get("min"), shape.metadata.get("max")
            return st.integers(min_value=low, max_value=high)
        if kind in ("float", "double"):
            return st.floats(allow_nan=False, allow_infinity=False, width=32)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
        if kind == "blob":
            return st.binary(max_size=16)
        return st.none()

    def structure(self, shape: StructureShape, depth: int) -> st.SearchStrategy[dict[str, Any]]:
        required = set(shape.required_members)
        members = shape.members
        optional = (
            {}
            if depth > 3
            else {name: self.value(member, depth + 1, name) for name, member in members.items() if name not in required}
        )
        return st.fixed_dictionaries(
            {name: self.value(members[name], depth + 1, name) for name in required}, optional=optional
        )

    def string(self, shape: Shape) -> st.SearchStrategy[str]:
        """Mostly values the model accepts (the mutations bring the bad ones), some arbitrary text."""
        name, meta = shape.name, shape.metadata
        if meta.get("enum"):
            return st.sampled_from(list(meta["enum"]))
        if name in ("InputContent", "TaskInput"):
            return json_documents()
        if name == "TemplateContent":
            return st.sampled_from(
                [
                    "<p>{{ task.input.text }}</p>",
                    "{{ task.input | to_json }}",
                    "<crowd-form>{{ task.input.a | escape }}</crowd-form>",
                    "{% for x in task.input.list %}{{ x }}{% endfor %}",
                    "{{ task.input",
                ]
            )
        if "Token" in name:
            return forged_tokens(self.world)
        options: list[st.SearchStrategy[str]] = []
        pattern = _python_pattern(meta.get("pattern"))
        if pattern is not None:
            low, high = meta.get("min", 0), meta.get("max", 256)
            options.append(st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high))
        else:
            options.append(st.text(min_size=meta.get("min", 0), max_size=min(meta.get("max", 24), 24)))
        return st.one_of(*options, _TEXT, st.sampled_from(self.world.known))


def _python_pattern(text: str | None) -> str | None:
    if not text or len(text) > 200 or "\\p{" in text or "\\u" in text:
        return None
    try:
        re.compile(text)
    except re.error:
        return None
    return text


def json_documents() -> st.SearchStrategy[str]:
    """InputContent / Task.Input: JSON objects, deep ones, odd ones, and text that is not a JSON object."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=10)
        | st.floats(allow_nan=False, allow_infinity=False)
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )
    objects = st.dictionaries(st.text(max_size=8), values, max_size=4).map(json.dumps)
    deep = st.sampled_from([10, 255, 256, 257, 600, 1100, 5000]).flatmap(
        lambda depth: st.sampled_from(["[", '{"a":']).map(
            lambda opener: '{"d":' + opener * depth + "1" + ("]" if opener == "[" else "}") * depth + "}"
        )
    )
    odd = st.sampled_from(
        [
            '{"a": "\\ud800"}',
            '{"a": "\\u0000"}',
            '{"n": 123456789012345678901234567890}',
            '{"x": NaN}',
            "[1, 2]",
            "null",
            "{",
            '{"a": 1',
            "",
            '{"\\udc00": 1}',
            '{"a": "\\ud83d\\ude00 \u00e9 \ud55c"}',
            '{"a": 1e400}',
            '{"a": -0.0}',
        ]
    )
    return st.one_of(objects, objects, deep, odd)


def forged_tokens(world: World) -> st.SearchStrategy[str]:
    def b64(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    huge = [2**31, 2**63, 2**64, 10**30, -(2**63) - 1]
    forged = st.sampled_from(huge).flatmap(
        lambda n: st.sampled_from(
            [
                b64({"q": "0" * 16, "p": [n, n]}),
                b64([n, n]),
                b64([n, n]) + ".AAAAAAAAAAAAAAAAAAAAAA",
                b64({"p": [n]}),
                b64("x"),
            ]
        )
    )
    options: list[st.SearchStrategy[str]] = [forged, st.sampled_from(["", ".", "a.b", "%%%", "\x00", "=" * 9])]
    if world.tokens:
        tokens = st.sampled_from(world.tokens)
        options += [
            tokens,
            st.tuples(tokens, st.integers(0, 200), st.sampled_from("A_-x0.")).map(
                lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
            ),
        ]
    return st.one_of(options)


# --- mutations ----------------------------------------------------------------------------------------------


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every member and item in a parameter tree."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*path, key))
            found += _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*path, index))
            found += _slots(item, (*path, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@dataclass(frozen=True)
class Deep:
    """A value nested `depth` levels deep, written out as JSON text (json.dumps would recurse)."""

    depth: int
    as_list: bool

    def json(self) -> str:
        if self.as_list:
            return "[" * self.depth + '"x"' + "]" * self.depth
        return '{"a":' * self.depth + '"x"' + "}" * self.depth


@dataclass
class Draft:
    """A request about to be sent: parameters, or a raw body that replaces what they would serialise to."""

    params: dict[str, Any]
    mutation: str
    raw_body: bytes | None = None

    @property
    def well_formed(self) -> bool:
        return self.mutation == "none" and self.raw_body is None


def mutate(
    draw: Callable[[st.SearchStrategy[Any]], Any], op: OperationModel, params: dict[str, Any], world: World
) -> Draft:
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "none":
        return Draft(params, mutation)
    slots = _slots(params)
    if mutation == "drop_required":
        required = [name for name in op.input_shape.required_members if name in params] if op.input_shape else []
        if not required:
            return Draft(params, "none")
        dropped = draw(st.sampled_from(required))
        return Draft({k: v for k, v in params.items() if k != dropped}, mutation)
    if mutation == "unknown_member":
        return Draft(
            {
                **params,
                draw(st.sampled_from(["Unknown", "__type", "nextToken", "Action", "x" * 300])): draw(
                    st.sampled_from([1, "x", None, [], {"a": 1}]) | _ODD
                ),
            },
            mutation,
        )
    if mutation == "raw_body":
        body = draw(
            st.sampled_from(
                [
                    b"{",
                    b"[]",
                    b"null",
                    b"1",
                    b'"x"',
                    b"\xff\xfe",
                    b'{"a":\x00}',
                    b'{"a": "\\ud800"}',
                    b"[" * 5000 + b"]" * 5000,
                    b'{"a":' * 2000 + b"1" + b"}" * 2000,
                    b"Action=%00&Version=\xff",
                    json.dumps(params, default=str).encode() + b"garbage",
                ]
            )
        )
        return Draft(params, mutation, raw_body=body)
    if mutation == "forged_token" or not slots:
        if not slots and mutation != "forged_token":
            return Draft(params, "none")
        return Draft({**params, "NextToken": draw(forged_tokens(world))}, "forged_token")
    path = draw(st.sampled_from(slots))
    if mutation == "wrong_type":
        new: Any = draw(st.sampled_from([1, -1, 1.5, True, "text", [], ["a"], {}, {"a": 1}, None]))
    elif mutation == "extreme_int":
        new = draw(st.sampled_from([2**31, 2**63, 2**64, 10**40, -1, -(2**63) - 1, 0]))
    elif mutation == "bad_string":
        new = draw(_ODD)
    elif mutation == "long_string":
        new = draw(st.sampled_from(["a", "\ud55c", "\x00", "\U0001f600"])) * draw(
            st.sampled_from([257, 1025, 70_000, 3_145_729])
        )
    else:  # deep
        new = Deep(draw(st.sampled_from([50, 600, 1100, 3000])), draw(st.booleans()))
    return Draft(_replace(params, path, new), mutation)


# --- serialising, signing, sending ----------------------------------------------------------------------


def request_dict(service: ServiceModel, op: OperationModel, draft: Draft) -> dict[str, Any]:
    """botocore's request dict: its serializer for well-formed parameters, the same layout by hand else."""
    if draft.well_formed:
        try:
            return dict(create_serializer(service.protocol).serialize_to_request(draft.params, op))
        except (ParamValidationError, TypeError, ValueError, AttributeError, KeyError):
            pass  # botocore refuses what it would never send; send it by hand
    return _by_hand(service, op, draft)


def _by_hand(service: ServiceModel, op: OperationModel, draft: Draft) -> dict[str, Any]:
    params = draft.params
    headers: dict[str, str] = {}
    if service.protocol == "json":
        body = draft.raw_body if draft.raw_body is not None else _json(params)
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{service.metadata['targetPrefix']}.{op.name}",
        }
        return {"method": "POST", "url_path": "/", "query_string": "", "headers": headers, "body": body}
    if service.protocol == "query":
        fields = {"Action": op.name, "Version": "2011-06-15", **params}
        body = (
            draft.raw_body
            if draft.raw_body is not None
            else "&".join(f"{quote(str(k), safe='')}={_encode(str(v), '~')}" for k, v in fields.items()).encode()
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return {"method": "POST", "url_path": "/", "query_string": "", "headers": headers, "body": body}
    path, _, fixed_query = op.http["requestUri"].partition("?")
    query: list[str] = [fixed_query] if fixed_query else []
    rest: dict[str, Any] = {}
    members = op.input_shape.members if op.input_shape else {}
    for name, value in params.items():
        member = members.get(name)
        location = member.serialization.get("location") if member is not None else None
        wire_name = member.serialization.get("name", name) if member is not None else name
        text = value if isinstance(value, str) else _json(value).decode("utf-8", "surrogatepass")
        if location in ("uri", "querystring"):
            text = text[:_MAX_URL_VALUE]
        if location == "uri":
            greedy = "{" + wire_name + "+}" in path
            path = path.replace(
                "{" + wire_name + "+}" if greedy else "{" + wire_name + "}", _encode(text, "/~" if greedy else "~")
            )
        elif location == "querystring":
            items = value if isinstance(value, list) else [value]
            texts = [(i if isinstance(i, str) else str(i))[:_MAX_URL_VALUE] for i in items]
            query += [f"{quote(wire_name, safe='')}={_encode(t, '~')}" for t in texts]
        elif location == "header":
            headers[wire_name] = _header(text)
        else:
            rest[name] = value
    path = re.sub(r"\{[^}]+\}", "", path)
    body = draft.raw_body if draft.raw_body is not None else (_json(rest) if op.http["method"] == "POST" else b"")
    if service.protocol == "rest-json" and body:
        headers["Content-Type"] = "application/json"
    return {
        "method": op.http["method"],
        "url_path": path or "/",
        "query_string": "&".join(query),
        "headers": headers,
        "body": body,
    }


# uvicorn refuses a request line beyond its limit (16 KB) with a plain 400 before crowdloop sees it.
_MAX_URL_VALUE = 2000


def _json(value: Any) -> bytes:
    deep: list[Deep] = []

    def default(item: Any) -> Any:
        if isinstance(item, Deep):
            deep.append(item)
            return f"@deep{len(deep) - 1}@"
        return item.isoformat() if isinstance(item, datetime) else str(item)

    text = json.dumps(value, default=default)
    for index, item in enumerate(deep):
        text = text.replace(f'"@deep{index}@"', item.json())
    return text.encode("utf-8", "surrogatepass")


def _encode(text: str, safe: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header(text: str) -> str:
    """Header values http.client will send (it refuses CR, LF and NUL, and anything beyond Latin-1)."""
    return "".join(c for c in text if " " <= c <= "~")[:200]


def signed(
    service_name: str, endpoint: str, region: str, credentials: Credentials, request: dict[str, Any]
) -> AWSPreparedRequest:
    request = dict(request)
    # HTTP itself has no way to send control characters in a header: uvicorn refuses the request (400)
    # before crowdloop sees it, as any server would. Nor header names beyond ASCII tokens (S3's x-amz-meta-*
    # names come from the parameters), nor a Content-Length other than the body's (the HTTP framing itself:
    # prepare() sets it).
    request["headers"] = {
        name: _header(value) if isinstance(value, str) else value
        for name, value in request["headers"].items()
        if _TOKEN.fullmatch(name) and name.lower() != "content-length"
    }
    if isinstance(request["query_string"], str):  # built by hand, already encoded
        query = request.pop("query_string")
        request["url"] = endpoint + request["url_path"] + (f"?{query}" if query else "")
    else:
        prepare_request_dict(request, endpoint)
    aws_request = AWSRequest(
        method=request["method"], url=request["url"], data=request["body"], headers=request["headers"]
    )
    signer = S3SigV4Auth if service_name == "s3" else SigV4Auth
    signer(credentials, SIGNING_NAME[service_name], region).add_auth(aws_request)
    return aws_request.prepare()


class Connection:
    """One keep-alive HTTP connection; an answer must come for every request."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None

    def send(self, prepared: AWSPreparedRequest) -> tuple[int, HeadersDict, bytes]:
        parts = urlsplit(prepared.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            self._conn.request(prepared.method, target, body=body, headers=headers)
            reply = self._conn.getresponse()
            data = reply.read()
        except (http.client.HTTPException, OSError) as exc:
            self.close()
            raise AssertionError(f"no answer to {prepared.method} {target[:200]}: {exc!r}") from exc
        except BaseException:
            self.close()
            raise
        if reply.getheader("connection", "").lower() == "close":
            self.close()
        return reply.status, HeadersDict(reply.getheaders()), data

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def check_answer(
    service: ServiceModel, op: OperationModel, method: str, status: int, headers: HeadersDict, body: bytes
) -> dict[str, Any]:
    """botocore's parse of the answer; AssertionError on a 5xx, an unparsable answer, or an error without
    a code."""
    deliberate = status == 501 and b"<Code>NotImplemented</Code>" in body  # S3: a feature it does not have
    assert status < 500 or deliberate, f"{op.name}: HTTP {status}: {body[:500]!r}"
    response = {"status_code": status, "headers": headers, "body": body}
    parsed: dict[str, Any] = create_parser(service.protocol).parse(response, op.output_shape)
    if status >= 300:
        error = parsed.get("Error", {})
        code = error.get("Code", "")
        assert code, f"{op.name}: HTTP {status} without an error code: {body[:500]!r}"
        if method != "HEAD":  # HEAD answers have no body: botocore reports the status as the code
            assert code != str(status), f"{op.name}: HTTP {status} with no code botocore reads: {body[:500]!r}"
    return parsed
