"""Human task UIs (worker task templates) and flow definitions (human review workflows).

Task UIs: the Liquid template is parsed at create time (a syntax error is InvalidInput) and stored
content-addressed in `templates` by SHA-256, so flow definitions and human loops keep a snapshot that
outlives DeleteHumanTaskUi. DescribeHumanTaskUi answers a URL on our server (`template_url`) and the hex
SHA-256 instead of the content.

Flow definition status, one rule:

    Initializing --(1 s after creation by svc.clock, or first Describe, or first use)--> Active
    Active --DeleteFlowDefinition--> Deleting --(no lease, no Stopping loop, all output written)--> gone

* A new flow definition is `Initializing`. It reads as `Active` once 1 second has passed since its
  creation; DescribeFlowDefinition and StartHumanLoop (loops.py) also persist `Active`, so the first
  Describe may answer `Initializing` and every later one answers `Active`.
* Only an `Active` flow definition can be deleted (else InUse). Deleting withdraws all its work at once:
  held leases are withdrawn, its InProgress loops stop offering slots (open_slots = 0) and every loop
  that is not busy is deleted (busy: leased, Stopping, or its output.json still to be written; all of it
  queue.withdraw_flow_work, since queue.py owns the loop rows).
  `purge_deleted_flow_definitions`, run by the reaper, removes a Deleting flow definition and its
  remaining loops once none is busy; then Describe answers NotFound and the name can be used again.
  Answers of a loop that never collected TaskCount answers are dropped with it (no output.json).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from crowdloop import arns, liquid, quality, queue
from crowdloop.blobs import make_bucket
from crowdloop.conditions import check_activation_conditions
from crowdloop.config import Settings
from crowdloop.errors import AlreadyExists, InUse, InvalidInput, NotFound
from crowdloop.jsoncheck import MAX_JSON_DEPTH, document_problem, renderable
from crowdloop.listing import CreationListing, Page, fetch_page
from crowdloop.model import FlowDefinitionStatus
from crowdloop.paging import PageRequest
from crowdloop.quality import QualityConfig
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import (
    flow_definitions,
    human_task_uis,
    templates,
    workteams,
)
from crowdloop.tags import Tag, drop_tags, put_tags
from crowdloop.urls import PublicUrls

ACTIVATION_DELAY = timedelta(seconds=1)
DEFAULT_TASK_TIME_LIMIT_SECONDS = 3600
DEFAULT_TASK_AVAILABILITY_LIFETIME_SECONDS = 864000
MAX_TASK_TIME_LIMIT_SECONDS = 28800
MAX_TASK_AVAILABILITY_LIFETIME_SECONDS = 864000

_BUCKET = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}")
# Virtual-hosted (bucket.s3[.-region].amazonaws.com) and path-style (s3[.-region].amazonaws.com/bucket)
_VIRTUAL_HOST = re.compile(r"(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")
_PATH_HOST = re.compile(r"s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")


@dataclass(frozen=True)
class HumanTaskUi:
    name: str
    arn: str
    created_at: datetime
    template_sha256: str


@dataclass(frozen=True)
class FlowDefinition:
    id: int
    name: str
    arn: str
    status: FlowDefinitionStatus
    created_at: datetime
    request: dict[str, Any]  # the Create request members as sent (echoed by Describe)
    workteam_arn: str
    human_task_ui_arn: str
    template_sha256: str
    task_count: int
    task_title: str
    task_description: str
    task_time_limit_seconds: int
    task_availability_lifetime_seconds: int
    output_path: str  # normalised s3://bucket[/prefix], no trailing slash
    failure_reason: str | None


@dataclass(frozen=True)
class Rendered:
    html: str
    errors: list[tuple[str, str]]  # (code, message)


# --- human task UIs -------------------------------------------------------------------------------------


def create_human_task_ui(
    svc: Services, caller: Caller, name: str, content: str, tags: Sequence[Tag] = ()
) -> HumanTaskUi:
    problems = liquid.check_template(content)
    if problems:
        details = "; ".join(f"{p.code}: {p.message}" for p in problems[:5])
        raise InvalidInput(
            f"The worker task template at 'uiTemplate.content' is not a valid Liquid template: {details}",
            "uiTemplate.content",
        )
    arn = arns.build("human-task-ui", name, caller.account, caller.region)
    with svc.store.write() as conn:
        if _row_named(conn, human_task_uis, caller, name) is not None:
            raise _ui_exists(name)
        sha256 = store_template(conn, content)
        try:
            with conn.begin_nested():
                conn.execute(
                    human_task_uis.insert().values(
                        account=caller.account,
                        region=caller.region,
                        name=name,
                        arn=arn,
                        template_sha256=sha256,
                        created_at=svc.clock.now(),
                    )
                )
        except IntegrityError:
            raise _ui_exists(name) from None
        put_tags(conn, arn, tags)
        row = _row_named(conn, human_task_uis, caller, name)
        assert row is not None
        return _ui(row)


def describe_human_task_ui(svc: Services, caller: Caller, name: str) -> HumanTaskUi:
    with svc.store.read() as conn:
        row = _row_named(conn, human_task_uis, caller, name)
    if row is None:
        raise _ui_not_found(name)
    return _ui(row)


def list_human_task_uis(svc: Services, caller: Caller, **listing: Unpack[CreationListing]) -> Page[HumanTaskUi]:
    rows, token = _rows_by_creation(svc, caller, "ListHumanTaskUis", human_task_uis, listing)
    return Page([_ui(row) for row in rows], token)


def delete_human_task_ui(svc: Services, caller: Caller, name: str) -> None:
    """Delete the task UI; its template content stays for the flow definitions and loops that use it."""
    with svc.store.write() as conn:
        row = _row_named(conn, human_task_uis, caller, name)
        if row is None:
            raise _ui_not_found(name)
        conn.execute(human_task_uis.delete().where(human_task_uis.c.id == row.id))
        drop_tags(conn, row.arn)


def store_template(conn: Connection, content: str) -> str:
    """Store template content (idempotently) and return its hex SHA-256."""
    sha256 = hashlib.sha256(content.encode()).hexdigest()
    if conn.execute(sa.select(templates.c.sha256).where(templates.c.sha256 == sha256)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(templates.insert().values(sha256=sha256, content=content))
        except IntegrityError:
            pass  # stored concurrently by another transaction: same content by construction
    return sha256


def get_template(svc: Services, sha256: str) -> str | None:
    """Template content by SHA-256 (for the route behind `template_url`), or None."""
    with svc.store.read() as conn:
        return template_content(conn, sha256)


def template_content(conn: Connection, sha256: str) -> str | None:
    """Template content by SHA-256, or None (the export's template checks read a flow's template with it)."""
    content = conn.execute(sa.select(templates.c.content).where(templates.c.sha256 == sha256)).scalar()
    return None if content is None else str(content)


def render_limits(settings: Settings) -> liquid.RenderLimits:
    """The budget of one render on this server (RenderUiTemplate and the task frame)."""
    return liquid.RenderLimits(cpu_seconds=settings.render_time_limit_seconds)


def template_url(settings: Settings, sha256: str) -> str:
    """Where DescribeHumanTaskUi says the template can be downloaded (served from `templates`)."""
    return PublicUrls.of(settings).template(sha256)


def render_ui_template(
    svc: Services,
    caller: Caller,
    *,
    task_input: str,
    content: str | None = None,
    human_task_ui_arn: str | None = None,
    grant_read_access: Callable[[str], str] | None = None,
) -> Rendered:
    """RenderUiTemplate: render `content` or the stored task UI with task.input = the parsed JSON."""
    if (content is None) == (human_task_ui_arn is None):
        raise InvalidInput(
            "Provide exactly one of UiTemplate and HumanTaskUiArn.",
            "uiTemplate" if content is None else "humanTaskUiArn",
        )
    try:
        parsed = json.loads(task_input)
    except ValueError as exc:
        raise InvalidInput(f"The value at 'task.input' is not valid JSON: {exc}", "task.input") from None
    except RecursionError:
        raise InvalidInput(
            f"The value at 'task.input' nests deeper than {MAX_JSON_DEPTH} levels.", "task.input"
        ) from None
    problem = document_problem(parsed)
    if problem is not None:
        raise InvalidInput(f"The value at 'task.input' {problem}.", "task.input")
    if human_task_ui_arn is not None:
        arn = arns.parse(human_task_ui_arn, "human-task-ui", "humanTaskUiArn")
        with svc.store.read() as conn:
            row = _row_named(conn, human_task_uis, caller, arn.name) if _same_scope(arn, caller) else None
            if row is None:
                raise NotFound("human task UI", human_task_ui_arn, f"Could not find human task UI {human_task_ui_arn}.")
            content = conn.execute(
                sa.select(templates.c.content).where(templates.c.sha256 == row.template_sha256)
            ).scalar_one()
    assert content is not None
    result = liquid.render_task(
        content,
        renderable(parsed),
        grant_read_access=grant_read_access or _identity,
        limits=render_limits(svc.settings),
    )
    return Rendered(result.html, [(error.code, error.message) for error in result.errors])


# --- flow definitions -----------------------------------------------------------------------------------


def create_flow_definition(
    svc: Services,
    caller: Caller,
    name: str,
    *,
    role_arn: str,
    output_config: Mapping[str, Any],
    human_loop_config: Mapping[str, Any] | None,
    request_source: Mapping[str, Any] | None = None,
    activation_config: Mapping[str, Any] | None = None,
    tags: Sequence[Tag] = (),
) -> FlowDefinition:
    """Create a flow definition; the mappings are the AWS request members (stored verbatim for Describe)."""
    if human_loop_config is None:
        raise InvalidInput(
            "1 validation error detected: Value null at 'humanLoopConfig' failed to satisfy "
            "constraint: Member must not be null",
            "humanLoopConfig",
        )
    if (request_source is None) != (activation_config is None):
        raise InvalidInput(
            "HumanLoopRequestSource and HumanLoopActivationConfig must be given together "
            "(activation conditions apply only to the built-in task types).",
            "humanLoopActivationConfig" if activation_config is None else "humanLoopRequestSource",
        )
    if request_source is not None and activation_config is not None:
        check_activation_conditions(
            str(activation_config["HumanLoopActivationConditionsConfig"]["HumanLoopActivationConditions"]),
            str(request_source["AwsManagedHumanLoopRequestSource"]),
        )
    time_limit = int(human_loop_config.get("TaskTimeLimitInSeconds", DEFAULT_TASK_TIME_LIMIT_SECONDS))
    lifetime = int(
        human_loop_config.get("TaskAvailabilityLifetimeInSeconds", DEFAULT_TASK_AVAILABILITY_LIFETIME_SECONDS)
    )
    _at_most(time_limit, MAX_TASK_TIME_LIMIT_SECONDS, "humanLoopConfig.taskTimeLimitInSeconds")
    _at_most(lifetime, MAX_TASK_AVAILABILITY_LIFETIME_SECONDS, "humanLoopConfig.taskAvailabilityLifetimeInSeconds")
    output_path = normalize_output_path(str(output_config["S3OutputPath"]), "outputConfig.s3OutputPath")
    request: dict[str, Any] = {
        "HumanLoopConfig": dict(human_loop_config),
        "OutputConfig": dict(output_config),
        "RoleArn": role_arn,
    }
    if request_source is not None:
        request["HumanLoopRequestSource"] = dict(request_source)
    if activation_config is not None:
        request["HumanLoopActivationConfig"] = dict(activation_config)
    arn = arns.build("flow-definition", name, caller.account, caller.region)
    # The output bucket exists from now on in the built-in store (S3 answers NoSuchKey, not NoSuchBucket,
    # for an output not yet written). Made first: a disk outage fails the request before anything is stored.
    make_bucket(svc.blobs, output_path.removeprefix("s3://").partition("/")[0])
    with svc.store.write() as conn:
        if _row_named(conn, flow_definitions, caller, name) is not None:
            raise _fd_exists(name)
        workteam_arn = _existing_workteam(conn, caller, str(human_loop_config["WorkteamArn"]))
        ui = _existing_ui(conn, caller, str(human_loop_config["HumanTaskUiArn"]))
        try:
            with conn.begin_nested():
                conn.execute(
                    flow_definitions.insert().values(
                        account=caller.account,
                        region=caller.region,
                        name=name,
                        arn=arn,
                        status=FlowDefinitionStatus.INITIALIZING.value,
                        created_at=svc.clock.now(),
                        role_arn=role_arn,
                        workteam_arn=workteam_arn,
                        human_task_ui_arn=ui.arn,
                        template_sha256=ui.template_sha256,
                        task_count=int(human_loop_config["TaskCount"]),
                        task_title=str(human_loop_config["TaskTitle"]),
                        task_description=str(human_loop_config["TaskDescription"]),
                        task_time_limit_seconds=time_limit,
                        task_availability_lifetime_seconds=lifetime,
                        output_path=output_path,
                        request=request,
                    )
                )
        except IntegrityError:
            raise _fd_exists(name) from None
        put_tags(conn, arn, tags)
        row = _row_named(conn, flow_definitions, caller, name)
        assert row is not None
        return _fd(row, svc.clock.now())


def describe_flow_definition(svc: Services, caller: Caller, name: str) -> FlowDefinition:
    """The flow definition as observed now; observing an Initializing one makes it Active (see module doc)."""
    with svc.store.write() as conn:
        row = _row_named(conn, flow_definitions, caller, name)
        if row is None:
            raise _fd_not_found(name)
        result = _fd(row, svc.clock.now())
        activate(conn, row.id)
        return result


def list_flow_definitions(svc: Services, caller: Caller, **listing: Unpack[CreationListing]) -> Page[FlowDefinition]:
    rows, token = _rows_by_creation(svc, caller, "ListFlowDefinitions", flow_definitions, listing)
    now = svc.clock.now()
    return Page([_fd(row, now) for row in rows], token)


def delete_flow_definition(svc: Services, caller: Caller, name: str) -> None:
    with svc.store.write() as conn:
        row = _row_named(conn, flow_definitions, caller, name)
        if row is None:
            raise _fd_not_found(name)
        status = _fd(row, svc.clock.now()).status
        if status is not FlowDefinitionStatus.ACTIVE:
            raise InUse(f"Flow definition {name} is {status.value}: only an Active flow definition can be deleted.")
        conn.execute(
            flow_definitions.update()
            .where(flow_definitions.c.id == row.id)
            .values(status=FlowDefinitionStatus.DELETING.value)
        )
        queue.withdraw_flow_work(conn, svc.clock.now(), row.id)


def purge_deleted_flow_definitions(conn: Connection) -> int:
    """Remove Deleting flow definitions (and their loops) none of whose loops is busy (queue.flow_has_busy_loop).
    Runs inside the reaper's transaction; returns how many were removed."""
    rows = conn.execute(
        sa.select(flow_definitions.c.id, flow_definitions.c.arn).where(
            flow_definitions.c.status == FlowDefinitionStatus.DELETING.value,
            ~queue.flow_has_busy_loop(flow_definitions.c.id),
        )
    ).all()
    for row in rows:
        queue.delete_flow_loops(conn, row.id)
        drop_tags(conn, row.arn)
        conn.execute(flow_definitions.delete().where(flow_definitions.c.id == row.id))
    return len(rows)


def effective_status(stored: str, created_at: datetime, now: datetime) -> FlowDefinitionStatus:
    status = FlowDefinitionStatus(stored)
    if status is FlowDefinitionStatus.INITIALIZING and now - created_at >= ACTIVATION_DELAY:
        return FlowDefinitionStatus.ACTIVE
    return status


def activate(conn: Connection, flow_definition_id: int) -> None:
    """Initializing -> Active (see the module doc): the one place that writes it (Describe, StartHumanLoop)."""
    conn.execute(
        flow_definitions.update()
        .where(
            flow_definitions.c.id == flow_definition_id,
            flow_definitions.c.status == FlowDefinitionStatus.INITIALIZING.value,
        )
        .values(status=FlowDefinitionStatus.ACTIVE.value)
    )


# --- helpers --------------------------------------------------------------------------------------------


def normalize_output_path(uri: str, field: str = "outputConfig.s3OutputPath") -> str:
    """`s3://b/p/`, `https://b.s3.<region>.amazonaws.com/p` and `https://s3.<region>.amazonaws.com/b/p`
    -> `s3://b/p` (no trailing slash). InvalidInput for other hosts and for paths that cannot be stored."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
    elif uri.startswith("https://"):
        parts = urlsplit(uri)
        host, path = parts.netloc.lower(), unquote(parts.path).lstrip("/")
        if parts.query or parts.fragment:
            raise InvalidInput(f"The S3 path '{uri}' at '{field}' must not have a query or fragment.", field)
        if (match := _VIRTUAL_HOST.fullmatch(host)) is not None:
            bucket, prefix = match.group("bucket"), path
        elif _PATH_HOST.fullmatch(host):
            bucket, _, prefix = path.partition("/")
        else:
            raise InvalidInput(
                f"The S3 path '{uri}' at '{field}' is not an Amazon S3 URL; use the form s3://bucket/prefix.", field
            )
    else:
        raise InvalidInput(f"The S3 path '{uri}' at '{field}' must start with s3:// or https://.", field)
    prefix = prefix.rstrip("/")
    if not _BUCKET.fullmatch(bucket):
        raise InvalidInput(f"'{bucket}' in '{uri}' at '{field}' is not a valid S3 bucket name.", field)
    if prefix and any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in prefix.split("/")):
        raise InvalidInput(f"The S3 prefix '{prefix}' at '{field}' has an empty, '.' or '..' segment.", field)
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def _identity(value: str) -> str:
    return value


def _same_scope(arn: arns.Arn, caller: Caller) -> bool:
    return (arn.account, arn.region) == (caller.account, caller.region)


def _rows_by_creation(
    svc: Services, caller: Caller, op: str, table: sa.Table, listing: CreationListing
) -> tuple[list[Row[Any]], str | None]:
    """One page of the caller's rows of `table` (task UIs or flow definitions) for the List* `op`."""
    created_after, created_before = listing.get("created_after"), listing.get("created_before")
    sort_order = listing.get("sort_order") or "Descending"
    page = PageRequest(
        {
            "op": op,
            "account": caller.account,
            "region": caller.region,
            "after": created_after,
            "before": created_before,
            "order": sort_order,
        },
        listing.get("max_results"),
        listing.get("next_token"),
        key=svc.paging_key,
    )
    query = sa.select(table).where(table.c.account == caller.account, table.c.region == caller.region)
    if table is flow_definitions:  # a labeling job's own flow definition is not the caller's A2I resource
        query = query.where(table.c.labeling_job_id.is_(None))
    query = _created_between(
        query,
        table.c.created_at,
        created_after,
        created_before,
    )
    with svc.store.read() as conn:
        return fetch_page(
            conn, query, [table.c.created_at, table.c.id], descending=sort_order == "Descending", page=page
        )


def _created_between(
    query: sa.Select[Any], column: sa.Column[Any], after: datetime | None, before: datetime | None
) -> sa.Select[Any]:
    if after is not None:
        query = query.where(column >= after)
    if before is not None:
        query = query.where(column < before)
    return query


def _at_most(value: int, maximum: int, field: str) -> None:
    if value > maximum:
        raise InvalidInput(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {maximum}",
            field,
        )


def _row_named(conn: Connection, table: sa.Table, caller: Caller, name: str) -> Row[Any] | None:
    """The caller's task UI or flow definition (`table`) of this name, or None."""
    return conn.execute(
        sa.select(table).where(table.c.account == caller.account, table.c.region == caller.region, table.c.name == name)
    ).first()


def _ui(row: Row[Any]) -> HumanTaskUi:
    return HumanTaskUi(row.name, row.arn, row.created_at, row.template_sha256)


def _ui_exists(name: str) -> AlreadyExists:
    return AlreadyExists(
        "human task UI",
        name,
        f"Human task UI {name} already exists. Choose a different name or delete the existing one.",
    )


def _ui_not_found(name: str) -> NotFound:
    return NotFound("human task UI", name, f"Could not find human task UI {name}.")


def _fd(row: Row[Any], now: datetime) -> FlowDefinition:
    return FlowDefinition(
        id=row.id,
        name=row.name,
        arn=row.arn,
        status=effective_status(row.status, row.created_at, now),
        created_at=row.created_at,
        request=dict(row.request),
        workteam_arn=row.workteam_arn,
        human_task_ui_arn=row.human_task_ui_arn,
        template_sha256=row.template_sha256,
        task_count=row.task_count,
        task_title=row.task_title,
        task_description=row.task_description,
        task_time_limit_seconds=row.task_time_limit_seconds,
        task_availability_lifetime_seconds=row.task_availability_lifetime_seconds,
        output_path=row.output_path,
        failure_reason=row.failure_reason,
    )


def _fd_exists(name: str) -> AlreadyExists:
    return AlreadyExists(
        "flow definition",
        name,
        f"Flow definition {name} already exists (a flow definition being deleted keeps its name until it is gone).",
    )


def _fd_not_found(name: str) -> NotFound:
    return NotFound("flow definition", name, f"Could not find flow definition {name}.")


def _existing_workteam(conn: Connection, caller: Caller, arn: str, field: str = "humanLoopConfig.workteamArn") -> str:
    parsed = arns.parse(arn, "workteam", field)
    found = (
        _same_scope(parsed, caller)
        and conn.execute(
            sa.select(workteams.c.id).where(
                workteams.c.account == caller.account,
                workteams.c.region == caller.region,
                workteams.c.name == parsed.name,
            )
        ).first()
        is not None
    )
    if not found:
        raise InvalidInput(
            f"The work team {arn} at '{field}' does not exist in account {caller.account} region {caller.region}.",
            field,
        )
    return str(parsed)


def _existing_ui(
    conn: Connection, caller: Caller, arn: str, field: str = "humanLoopConfig.humanTaskUiArn"
) -> HumanTaskUi:
    parsed = arns.parse(arn, "human-task-ui", field)
    row = _row_named(conn, human_task_uis, caller, parsed.name) if _same_scope(parsed, caller) else None
    if row is None:
        raise InvalidInput(
            f"The human task UI {arn} at '{field}' does not exist in account {caller.account} region {caller.region}.",
            field,
        )
    return _ui(row)


# --- the flow definitions of labeling jobs (crowdloop/groundtruth) ---------------------------------------


def existing_workteam(conn: Connection, caller: Caller, arn: str, field: str) -> str:
    """The ARN of the caller's private work team `arn`; InvalidInput naming `field` when there is none."""
    return _existing_workteam(conn, caller, arn, field)


def existing_ui(conn: Connection, caller: Caller, arn: str, field: str) -> HumanTaskUi:
    """The caller's human task UI `arn`; InvalidInput naming `field` when there is none."""
    return _existing_ui(conn, caller, arn, field)


@dataclass(frozen=True)
class JobFlow:
    """What a labeling job's tasks need of the flow definition that carries them."""

    labeling_job_id: int
    job_arn: str
    role_arn: str
    workteam_arn: str
    human_task_ui_arn: str
    template_sha256: str
    task_count: int
    task_title: str
    task_description: str
    task_time_limit_seconds: int
    task_availability_lifetime_seconds: int
    output_path: str


def create_job_flow(conn: Connection, caller: Caller, flow: JobFlow, now: datetime) -> int:
    """The internal flow definition of a labeling job (name "~<job id>", the job's ARN): the queue, the
    portal and the reaper serve its loops as any other; the A2I API never lists or describes it."""
    return int(
        conn.execute(
            flow_definitions.insert()
            .values(
                account=caller.account,
                region=caller.region,
                name=f"~{flow.labeling_job_id}",
                arn=flow.job_arn,
                status=FlowDefinitionStatus.ACTIVE.value,
                created_at=now,
                role_arn=flow.role_arn,
                workteam_arn=flow.workteam_arn,
                human_task_ui_arn=flow.human_task_ui_arn,
                template_sha256=flow.template_sha256,
                task_count=flow.task_count,
                task_title=flow.task_title,
                task_description=flow.task_description,
                task_time_limit_seconds=flow.task_time_limit_seconds,
                task_availability_lifetime_seconds=flow.task_availability_lifetime_seconds,
                output_path=flow.output_path,
                request={},
                labeling_job_id=flow.labeling_job_id,
            )
            .returning(flow_definitions.c.id)
        ).scalar_one()
    )


# --- quality control settings (crowdloop.quality: `crowdloop:` tags) --------------------------------------


def set_quality(svc: Services, caller: Caller, name: str, values: Mapping[str, str]) -> QualityConfig:
    """Set quality-control keys of a flow definition (`crowdloop flows set`, the console): the same
    `crowdloop:` tags AddTags would add, checked the same way. Keys may be given without the prefix."""
    given = [Tag(key if quality.is_quality_tag(key) else quality.PREFIX + key, value) for key, value in values.items()]
    with svc.store.write() as conn:
        row = _row_named(conn, flow_definitions, caller, name)
        if row is None or row.status == FlowDefinitionStatus.DELETING:
            raise NotFound("flow definition", name, f"Flow definition {name} does not exist.")
        put_tags(conn, row.arn, given, field="KEY=VALUE")
        return quality.config_for(conn, row.arn)


def quality_of(svc: Services, caller: Caller, name: str) -> QualityConfig:
    """A flow definition's quality-control settings."""
    with svc.store.read() as conn:
        row = _row_named(conn, flow_definitions, caller, name)
        if row is None:
            raise NotFound("flow definition", name, f"Flow definition {name} does not exist.")
        return quality.config_for(conn, row.arn)
