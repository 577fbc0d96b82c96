"""AddTags / ListTags / DeleteTags for the resources crowdloop manages.

Taggable: human task UIs, flow definitions, work teams, workforces and labeling jobs of the caller's account
and region.
A resource holds at most 50 tags; keys are unique per resource (AddTags overwrites a key's value) and keys
beginning with "aws:" are reserved. An ARN naming no existing resource is InvalidInput, as SageMaker
answers ValidationException there. Deleting a resource deletes its tags (`drop_tags`), so a re-created
name starts untagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crowdloop import quality
from crowdloop.errors import InvalidInput
from crowdloop.listing import Page, fetch_page
from crowdloop.paging import PageRequest
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import flow_definitions, human_task_uis, labeling_jobs, tags, workforces, workteams

MAX_TAGS_PER_RESOURCE = 50
LIST_TAGS_PAGE_SIZE = 50  # ListTags.MaxResults has a minimum of 50, so a smaller default makes no sense

_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:([a-z0-9-]*):([0-9]{12}):([a-z-]+)/(.+)")
_TABLES: dict[str, sa.Table] = {
    "human-task-ui": human_task_uis,
    "flow-definition": flow_definitions,
    "workteam": workteams,
    "workforce": workforces,
    "labeling-job": labeling_jobs,
}


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


def add_tags(svc: Services, caller: Caller, resource_arn: str, new_tags: Sequence[Tag]) -> list[Tag]:
    """Add or overwrite tags; returns the tags given."""
    with svc.store.write() as conn:
        _require_resource(conn, caller, resource_arn)
        put_tags(conn, resource_arn, new_tags)
    return list(new_tags)


def list_tags(
    svc: Services, caller: Caller, resource_arn: str, *, max_results: int | None = None, next_token: str | None = None
) -> Page[Tag]:
    """The resource's tags ordered by key."""
    page = PageRequest(
        {"op": "ListTags", "arn": resource_arn}, max_results or LIST_TAGS_PAGE_SIZE, next_token, key=svc.paging_key
    )
    with svc.store.read() as conn:
        _require_resource(conn, caller, resource_arn)
        rows, token = fetch_page(
            conn,
            sa.select(tags.c.key, tags.c.value).where(tags.c.resource_arn == resource_arn),
            [tags.c.key],
            descending=False,
            page=page,
        )
    return Page([Tag(row.key, row.value) for row in rows], token)


def delete_tags(svc: Services, caller: Caller, resource_arn: str, keys: Iterable[str]) -> None:
    """Remove the given keys; keys the resource does not have are ignored."""
    with svc.store.write() as conn:
        _require_resource(conn, caller, resource_arn)
        conn.execute(tags.delete().where(tags.c.resource_arn == resource_arn, tags.c.key.in_(list(keys))))


def put_tags(conn: Connection, resource_arn: str, new_tags: Sequence[Tag], field: str = "tags") -> None:
    """Add or overwrite tags inside the caller's transaction (Create* operations use it too)."""
    check_tags(new_tags, field)
    if not new_tags:
        return
    _check_quality_tags(conn, resource_arn, new_tags, field)
    keys = [tag.key for tag in new_tags]
    existing = set(conn.execute(sa.select(tags.c.key).where(tags.c.resource_arn == resource_arn)).scalars())
    if len(existing | set(keys)) > MAX_TAGS_PER_RESOURCE:
        raise InvalidInput(
            f"Cannot add {len(set(keys) - existing)} tags to {resource_arn}: a resource can "
            f"have at most {MAX_TAGS_PER_RESOURCE} tags and it has {len(existing)}.",
            field,
        )
    conn.execute(tags.delete().where(tags.c.resource_arn == resource_arn, tags.c.key.in_(keys)))
    conn.execute(
        tags.insert(), [{"resource_arn": resource_arn, "key": tag.key, "value": tag.value} for tag in new_tags]
    )


def _check_quality_tags(conn: Connection, resource_arn: str, new_tags: Sequence[Tag], field: str) -> None:
    """`crowdloop:` tags configure a flow definition's quality control (crowdloop.quality): only on flow
    definitions, only known keys with valid values, checked together with the ones it has already."""
    given = {tag.key: tag.value for tag in new_tags if quality.is_quality_tag(tag.key)}
    if not given:
        return
    task_count = conn.execute(
        sa.select(flow_definitions.c.task_count).where(flow_definitions.c.arn == resource_arn)
    ).scalar()
    if task_count is None:
        tag = sorted(given)[0]
        raise InvalidInput(
            f"Tag key '{tag}' at '{field}' is not allowed here: tags beginning with 'crowdloop:' configure flow "
            "definitions (docs/quality.md).",
            field,
        )
    stored = conn.execute(
        sa.select(tags.c.key, tags.c.value).where(
            tags.c.resource_arn == resource_arn, tags.c.key.like(quality.PREFIX + "%")
        )
    ).all()
    quality.parse({**{str(k): str(v) for k, v in stored}, **given}, task_count=int(task_count), field=field)


def drop_tags(conn: Connection, resource_arn: str) -> None:
    """Delete every tag of a resource that is being deleted."""
    conn.execute(tags.delete().where(tags.c.resource_arn == resource_arn))


def check_tags(new_tags: Sequence[Tag], field: str = "tags") -> None:
    seen: set[str] = set()
    for tag in new_tags:
        if tag.key in seen:
            raise InvalidInput(f"Duplicate tag key '{tag.key}' at '{field}': tag keys must be unique.", field)
        seen.add(tag.key)
        if tag.key.lower().startswith("aws:"):
            raise InvalidInput(
                f"Tag key '{tag.key}' at '{field}' is not allowed: keys beginning with "
                "'aws:' are reserved for AWS use.",
                field,
            )
    if len(new_tags) > MAX_TAGS_PER_RESOURCE:
        raise InvalidInput(f"Too many tags at '{field}': at most {MAX_TAGS_PER_RESOURCE} are allowed.", field)


def _require_resource(conn: Connection, caller: Caller, resource_arn: str) -> None:
    match = _ARN.fullmatch(resource_arn)
    table = _TABLES.get(match.group(3)) if match else None
    if match is None or table is None:
        raise InvalidInput(
            f"Resource {resource_arn} cannot be tagged: crowdloop tags human task UIs, flow "
            "definitions, work teams, workforces and labeling jobs.",
            "resourceArn",
        )
    region, account = match.group(1), match.group(2)
    query = sa.select(table.c.id).where(
        table.c.arn == resource_arn, table.c.account == account, table.c.region == region
    )
    if table is workforces:
        query = query.where(workforces.c.status != "Deleted")
    if (account, region) != (caller.account, caller.region) or conn.execute(query).first() is None:
        raise InvalidInput(f"Resource {resource_arn} does not exist.", "resourceArn")
