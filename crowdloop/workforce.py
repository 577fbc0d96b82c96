"""The private workforce and its work teams.

Each (account, region) has at most one workforce. A private workforce named "default" exists from the
start: the first workforce or work-team operation of a caller creates it (idempotently). It uses
crowdloop's own worker accounts (no CognitoConfig/OidcConfig); UpdateWorkforce can give it an OIDC
configuration while it has no work teams. DeleteWorkforce "default" leaves a row with status "Deleted"
(never shown) that records it was provisioned, so it does not come back by itself; CreateWorkforce can
then create another one, and CreateWorkteam without a workforce re-creates "default" (AWS also creates the
workforce with the first private work team). Status is always Active: updates apply at once.

Work teams select workers by group: every Cognito UserGroup / OIDC group of a team's MemberDefinitions
is a row in `workteam_groups`, matched against `worker_groups`. Changing a team's groups or deleting it
withdraws, in the same transaction, the tasks of its flow definitions held by workers it no longer selects
(queue.withdraw_ineligible_leases). OidcConfig.ClientSecret is stored but never returned.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, Unpack

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from crowdloop import arns, queue
from crowdloop.errors import AlreadyExists, Conflict, InUse, InvalidInput, LimitExceeded, NotFound
from crowdloop.listing import NameListing, Page, fetch_page
from crowdloop.paging import PageRequest
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import flow_definitions, workforces, workteam_groups, workteams
from crowdloop.tags import Tag, drop_tags, put_tags

DEFAULT_WORKFORCE = "default"
ACTIVE = "Active"
DELETED = "Deleted"  # internal tombstone of the default workforce; never on the wire
MAX_WORKTEAMS = 25  # per account and region, as on AWS
MAX_CIDRS = 10

T = TypeVar("T")


@dataclass(frozen=True)
class Workforce:
    id: int
    name: str
    arn: str
    status: str
    config: dict[str, Any]  # CognitoConfig / OidcConfig (with ClientSecret) / SourceIpConfig / ...
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Workteam:
    id: int
    name: str
    arn: str
    workforce_arn: str
    description: str
    member_definitions: list[dict[str, Any]]
    notification_configuration: dict[str, Any] | None
    worker_access_configuration: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    groups: tuple[str, ...]


# --- workforces -----------------------------------------------------------------------------------------


def create_workforce(
    svc: Services,
    caller: Caller,
    name: str,
    *,
    cognito_config: Mapping[str, Any] | None = None,
    oidc_config: Mapping[str, Any] | None = None,
    source_ip_config: Mapping[str, Any] | None = None,
    vpc_config: Mapping[str, Any] | None = None,
    ip_address_type: str | None = None,
    tags: Sequence[Tag] = (),
) -> Workforce:
    if (cognito_config is None) == (oidc_config is None):
        raise InvalidInput(
            "Specify exactly one of CognitoConfig and OidcConfig.",
            "cognitoConfig" if cognito_config is None else "oidcConfig",
        )
    config: dict[str, Any] = {}
    if cognito_config is not None:
        config["CognitoConfig"] = dict(cognito_config)
    if oidc_config is not None:
        config["OidcConfig"] = dict(oidc_config)
    _apply_common(config, source_ip_config, vpc_config, ip_address_type)
    now = svc.clock.now()
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, now)
        existing = _live_workforce(conn, caller)
        if existing is not None:
            raise LimitExceeded(
                f"Workforce {existing.name} already exists in {caller.region}: an account "
                "can have one workforce per region. Delete it first or use UpdateWorkforce."
            )
        workforce = _insert_or_revive(conn, caller, name, config, now)
        put_tags(conn, workforce.arn, tags)
        return workforce


def describe_workforce(svc: Services, caller: Caller, name: str) -> Workforce:
    with svc.store.write() as conn:
        return _workforce_named(conn, caller, name, svc.clock.now())


def list_workforces(svc: Services, caller: Caller, **listing: Unpack[NameListing]) -> Page[Workforce]:
    query = sa.select(workforces).where(
        workforces.c.account == caller.account, workforces.c.region == caller.region, workforces.c.status != DELETED
    )
    return _page_by_name_or_date(
        svc, caller, "ListWorkforces", query, workforces, "Descending", lambda conn, row: _workforce(row), listing
    )


def update_workforce(
    svc: Services,
    caller: Caller,
    name: str,
    *,
    source_ip_config: Mapping[str, Any] | None = None,
    oidc_config: Mapping[str, Any] | None = None,
    vpc_config: Mapping[str, Any] | None = None,
    ip_address_type: str | None = None,
) -> Workforce:
    now = svc.clock.now()
    with svc.store.write() as conn:
        workforce = _workforce_named(conn, caller, name, now)
        config = dict(workforce.config)
        if oidc_config is not None:
            if "CognitoConfig" in config:
                raise InvalidInput(
                    f"Workforce {name} uses Amazon Cognito; OidcConfig can only update a "
                    "workforce that uses OIDC or crowdloop's own worker accounts.",
                    "oidcConfig",
                )
            if _team_count(conn, workforce.id):
                raise Conflict(
                    f"Workforce {name} has work teams: you can only update the OIDC configuration "
                    "when no work teams are associated with the workforce."
                )
            config["OidcConfig"] = dict(oidc_config)
        _apply_common(config, source_ip_config, vpc_config, ip_address_type)
        conn.execute(workforces.update().where(workforces.c.id == workforce.id).values(config=config, updated_at=now))
        return _workforce(conn.execute(sa.select(workforces).where(workforces.c.id == workforce.id)).one())


def delete_workforce(svc: Services, caller: Caller, name: str) -> None:
    now = svc.clock.now()
    with svc.store.write() as conn:
        workforce = _workforce_named(conn, caller, name, now)
        if _team_count(conn, workforce.id):
            raise InUse(f"Workforce {name} still has work teams; delete them with DeleteWorkteam first.")
        drop_tags(conn, workforce.arn)
        if workforce.name == DEFAULT_WORKFORCE:
            conn.execute(
                workforces.update()
                .where(workforces.c.id == workforce.id)
                .values(status=DELETED, config={}, updated_at=now)
            )
        else:
            conn.execute(workforces.delete().where(workforces.c.id == workforce.id))


def ensure_default_workforce(conn: Connection, caller: Caller, now: datetime) -> None:
    """Create the caller's "default" workforce unless it was ever provisioned (idempotent, race-safe)."""
    provisioned = conn.execute(
        sa.select(workforces.c.id).where(
            workforces.c.account == caller.account,
            workforces.c.region == caller.region,
            sa.or_(workforces.c.name == DEFAULT_WORKFORCE, workforces.c.status != DELETED),
        )
    ).first()
    if provisioned is None:
        try:
            with conn.begin_nested():
                _insert_workforce(conn, caller, DEFAULT_WORKFORCE, {}, now)
        except IntegrityError:
            pass  # created by a concurrent first call


def get_workforce(conn: Connection, account: str, region: str) -> Workforce | None:
    """The live workforce of (account, region), if any (for the portal: sign-in and SourceIpConfig)."""
    return _live_workforce(conn, Caller(account, region))


# --- work teams -----------------------------------------------------------------------------------------


def live_workforces(svc: Services, account: str) -> list[Workforce]:
    """The account's workforces that are not deleted, one per region, by id (oidc.py's providers)."""
    with svc.store.read() as conn:
        rows = conn.execute(
            sa.select(workforces)
            .where(workforces.c.account == account, workforces.c.status != DELETED)
            .order_by(workforces.c.id)
        ).all()
    return [_workforce(row) for row in rows]


_JOB_WORKFORCE_CONFIG = (
    sa.select(workforces.c.config)
    .select_from(
        flow_definitions.join(workteams, workteams.c.arn == flow_definitions.c.workteam_arn).join(
            workforces, workforces.c.id == workteams.c.workforce_id
        )
    )
    .where(flow_definitions.c.id == sa.bindparam("fd"))
)


def job_workforce_config(svc: Services, flow_definition_id: int) -> dict[str, Any]:
    """The config of the workforce whose work team a job (flow definition) belongs to; {} if none
    (the portal reads SourceIpConfig from it)."""
    with svc.store.read() as conn:
        config = conn.execute(_JOB_WORKFORCE_CONFIG, {"fd": flow_definition_id}).scalar()
    return dict(config) if isinstance(config, dict) else {}


def create_workteam(
    svc: Services,
    caller: Caller,
    name: str,
    *,
    member_definitions: Sequence[Mapping[str, Any]],
    description: str,
    workforce_name: str | None = None,
    notification_configuration: Mapping[str, Any] | None = None,
    worker_access_configuration: Mapping[str, Any] | None = None,
    tags: Sequence[Tag] = (),
) -> Workteam:
    now = svc.clock.now()
    arn = arns.build("workteam", name, caller.account, caller.region)
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, now)
        if workforce_name is not None:
            workforce = _workforce_named(conn, caller, workforce_name, now)
        else:
            workforce = _live_workforce(conn, caller) or _insert_or_revive(conn, caller, DEFAULT_WORKFORCE, {}, now)
        if _team_row(conn, caller, name) is not None:
            raise _team_exists(name)
        groups = _member_groups(member_definitions, workforce)
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(workteams)
            .where(workteams.c.account == caller.account, workteams.c.region == caller.region)
        ).scalar_one()
        if count >= MAX_WORKTEAMS:
            raise LimitExceeded(
                f"Cannot create work team {name}: an account can have at most {MAX_WORKTEAMS} work teams per region."
            )
        try:
            with conn.begin_nested():
                team_id = conn.execute(
                    workteams.insert()
                    .values(
                        account=caller.account,
                        region=caller.region,
                        name=name,
                        arn=arn,
                        workforce_id=workforce.id,
                        description=description,
                        member_definitions=[dict(m) for m in member_definitions],
                        notification_configuration=_plain(notification_configuration),
                        worker_access_configuration=_plain(worker_access_configuration),
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(workteams.c.id)
                ).scalar_one()
        except IntegrityError:
            raise _team_exists(name) from None
        _set_groups(conn, team_id, groups)
        put_tags(conn, arn, tags)
        return _load_team(conn, team_id)


def describe_workteam(svc: Services, caller: Caller, name: str) -> Workteam:
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, svc.clock.now())
        return _load_team(conn, _team_id(conn, caller, name))


def list_workteams(svc: Services, caller: Caller, **listing: Unpack[NameListing]) -> Page[Workteam]:
    query = sa.select(workteams.c.id, workteams.c.name, workteams.c.created_at).where(
        workteams.c.account == caller.account, workteams.c.region == caller.region
    )
    return _page_by_name_or_date(
        svc, caller, "ListWorkteams", query, workteams, "Ascending", lambda conn, row: _load_team(conn, row.id), listing
    )


def update_workteam(
    svc: Services,
    caller: Caller,
    name: str,
    *,
    member_definitions: Sequence[Mapping[str, Any]] | None = None,
    description: str | None = None,
    notification_configuration: Mapping[str, Any] | None = None,
    worker_access_configuration: Mapping[str, Any] | None = None,
) -> Workteam:
    """Change the given members; MemberDefinitions replaces the whole list (and the team's groups)."""
    now = svc.clock.now()
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, now)
        team = _load_team(conn, _team_id(conn, caller, name))
        values: dict[str, Any] = {"updated_at": now}
        if member_definitions is not None:
            workforce = _workforce(
                conn.execute(sa.select(workforces).where(workforces.c.arn == team.workforce_arn)).one()
            )
            _set_groups(conn, team.id, _member_groups(member_definitions, workforce))
            queue.withdraw_ineligible_leases(conn, now, workteam_arn=team.arn)
            values["member_definitions"] = [dict(m) for m in member_definitions]
        if description is not None:
            values["description"] = description
        if notification_configuration is not None:
            values["notification_configuration"] = _plain(notification_configuration)
        if worker_access_configuration is not None:
            values["worker_access_configuration"] = _plain(worker_access_configuration)
        conn.execute(workteams.update().where(workteams.c.id == team.id).values(**values))
        return _load_team(conn, team.id)


def delete_workteam(svc: Services, caller: Caller, name: str) -> None:
    """Delete the team. Flow definitions that name it stay; StartHumanLoop on them then fails validation."""
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, svc.clock.now())
        team_id = _team_id(conn, caller, name)
        arn = conn.execute(sa.select(workteams.c.arn).where(workteams.c.id == team_id)).scalar_one()
        conn.execute(workteam_groups.delete().where(workteam_groups.c.workteam_id == team_id))
        conn.execute(workteams.delete().where(workteams.c.id == team_id))
        queue.withdraw_ineligible_leases(conn, svc.clock.now(), workteam_arn=arn)
        drop_tags(conn, arn)


# --- helpers --------------------------------------------------------------------------------------------


def _apply_common(
    config: dict[str, Any],
    source_ip_config: Mapping[str, Any] | None,
    vpc_config: Mapping[str, Any] | None,
    ip_address_type: str | None,
) -> None:
    if source_ip_config is not None:
        cidrs = list(source_ip_config.get("Cidrs", []))
        if len(cidrs) > MAX_CIDRS:
            raise InvalidInput(
                "1 validation error detected: Value at 'sourceIpConfig.cidrs' failed to "
                "satisfy constraint: Member must have length less than or equal to "
                f"{MAX_CIDRS}",
                "sourceIpConfig.cidrs",
            )
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise InvalidInput(
                    f"'{cidr}' at 'sourceIpConfig.cidrs' is not a valid CIDR block.", "sourceIpConfig.cidrs"
                ) from None
        config["SourceIpConfig"] = {"Cidrs": cidrs}
    if vpc_config is not None:
        config["WorkforceVpcConfig"] = _plain(vpc_config)
    if ip_address_type is not None:
        config["IpAddressType"] = ip_address_type


def _member_groups(definitions: Sequence[Mapping[str, Any]], workforce: Workforce) -> list[str]:
    """The group names the definitions select, after checking them against each other and the workforce."""
    field = "memberDefinitions"
    kinds: set[str] = set()
    cognito_ids: set[tuple[str, str]] = set()
    groups: list[str] = []
    for definition in definitions:
        present = [k for k in ("CognitoMemberDefinition", "OidcMemberDefinition") if definition.get(k) is not None]
        if len(present) != 1:
            raise InvalidInput(
                "Each MemberDefinition must have exactly one of CognitoMemberDefinition and OidcMemberDefinition.",
                field,
            )
        kinds.add(present[0])
        member = definition[present[0]]
        if present[0] == "CognitoMemberDefinition":
            cognito_ids.add((member["UserPool"], member["ClientId"]))
            groups.append(member["UserGroup"])
        else:
            if not member.get("Groups"):
                raise InvalidInput("OidcMemberDefinition needs Groups: a list of 1 to 10 group names.", field)
            groups.extend(member["Groups"])
    if len(kinds) > 1:
        raise InvalidInput("Do not mix CognitoMemberDefinition and OidcMemberDefinition in one work team.", field)
    if len(cognito_ids) > 1:
        raise InvalidInput(
            "All CognitoMemberDefinition entries of a work team must use the same UserPool and ClientId.", field
        )
    cognito = workforce.config.get("CognitoConfig")
    if "OidcMemberDefinition" in kinds and cognito is not None:
        raise InvalidInput(f"Workforce {workforce.name} uses Amazon Cognito: use CognitoMemberDefinition.", field)
    if "CognitoMemberDefinition" in kinds:
        if "OidcConfig" in workforce.config:
            raise InvalidInput(f"Workforce {workforce.name} uses OIDC: use OidcMemberDefinition.", field)
        if cognito is not None and cognito_ids != {(cognito["UserPool"], cognito["ClientId"])}:
            raise InvalidInput(
                f"The UserPool and ClientId must be those of workforce {workforce.name} "
                f"({cognito['UserPool']}, {cognito['ClientId']}).",
                field,
            )
    return list(dict.fromkeys(groups))


def _set_groups(conn: Connection, team_id: int, groups: Sequence[str]) -> None:
    conn.execute(workteam_groups.delete().where(workteam_groups.c.workteam_id == team_id))
    if groups:
        conn.execute(workteam_groups.insert(), [{"workteam_id": team_id, "group_name": g} for g in groups])


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _insert_workforce(conn: Connection, caller: Caller, name: str, config: dict[str, Any], now: datetime) -> Workforce:
    conn.execute(
        workforces.insert().values(
            account=caller.account,
            region=caller.region,
            name=name,
            arn=arns.build("workforce", name, caller.account, caller.region),
            status=ACTIVE,
            config=config,
            created_at=now,
            updated_at=now,
        )
    )
    return _workforce(
        conn.execute(
            sa.select(workforces).where(
                workforces.c.account == caller.account, workforces.c.region == caller.region, workforces.c.name == name
            )
        ).one()
    )


def _insert_or_revive(conn: Connection, caller: Caller, name: str, config: dict[str, Any], now: datetime) -> Workforce:
    """A new workforce row, or the tombstone of the same name brought back to life."""
    tombstone = conn.execute(
        sa.select(workforces.c.id).where(
            workforces.c.account == caller.account,
            workforces.c.region == caller.region,
            workforces.c.name == name,
            workforces.c.status == DELETED,
        )
    ).first()
    if tombstone is None:
        return _insert_workforce(conn, caller, name, config, now)
    conn.execute(
        workforces.update()
        .where(workforces.c.id == tombstone.id)
        .values(status=ACTIVE, config=config, created_at=now, updated_at=now)
    )
    return _workforce(conn.execute(sa.select(workforces).where(workforces.c.id == tombstone.id)).one())


def _live_workforce(conn: Connection, caller: Caller) -> Workforce | None:
    row = conn.execute(
        sa.select(workforces)
        .where(
            workforces.c.account == caller.account, workforces.c.region == caller.region, workforces.c.status != DELETED
        )
        .order_by(workforces.c.id)
    ).first()
    return None if row is None else _workforce(row)


def _workforce_named(conn: Connection, caller: Caller, name: str, now: datetime) -> Workforce:
    ensure_default_workforce(conn, caller, now)
    workforce = _live_workforce(conn, caller)
    if workforce is None or workforce.name != name:
        raise NotFound("workforce", name, f"No workforce found with name {name}.")
    return workforce


def _page_by_name_or_date(
    svc: Services,
    caller: Caller,
    op: str,
    query: sa.Select[Any],
    table: sa.Table,
    default_order: str,
    item: Callable[[Connection, Row[Any]], T],
    listing: NameListing,
) -> Page[T]:
    """One page of `query` (the caller's rows of `table`) for the List* `op`, sorted by Name or CreateDate.

    The caller's default workforce is provisioned first, as on every read of workforces and work teams.
    """
    sort_by = listing.get("sort_by") or "CreateDate"
    sort_order = listing.get("sort_order") or default_order
    name_contains = listing.get("name_contains")
    page = PageRequest(
        {
            "op": op,
            "account": caller.account,
            "region": caller.region,
            "by": sort_by,
            "order": sort_order,
            "contains": name_contains,
        },
        listing.get("max_results"),
        listing.get("next_token"),
        key=svc.paging_key,
    )
    if name_contains:
        query = query.where(sa.func.lower(table.c.name).contains(name_contains.lower(), autoescape=True))
    order = [table.c.name if sort_by == "Name" else table.c.created_at, table.c.id]
    with svc.store.write() as conn:
        ensure_default_workforce(conn, caller, svc.clock.now())
        rows, token = fetch_page(conn, query, order, descending=sort_order == "Descending", page=page)
        return Page([item(conn, row) for row in rows], token)


def _workforce(row: Row[Any]) -> Workforce:
    return Workforce(row.id, row.name, row.arn, row.status, dict(row.config), row.created_at, row.updated_at)


def _team_count(conn: Connection, workforce_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(workteams).where(workteams.c.workforce_id == workforce_id)
        ).scalar_one()
    )


def _team_row(conn: Connection, caller: Caller, name: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(workteams.c.id).where(
            workteams.c.account == caller.account, workteams.c.region == caller.region, workteams.c.name == name
        )
    ).first()


def _team_id(conn: Connection, caller: Caller, name: str) -> int:
    row = _team_row(conn, caller, name)
    if row is None:
        raise NotFound("workteam", name, f"The work team {name} does not exist.")
    return int(row.id)


def _team_exists(name: str) -> AlreadyExists:
    return AlreadyExists("workteam", name, f"Work team {name} already exists. Choose a different name.")


def _load_team(conn: Connection, team_id: int) -> Workteam:
    row = conn.execute(
        sa.select(workteams, workforces.c.arn.label("workforce_arn"))
        .join(workforces, workforces.c.id == workteams.c.workforce_id)
        .where(workteams.c.id == team_id)
    ).one()
    groups = (
        conn.execute(
            sa.select(workteam_groups.c.group_name)
            .where(workteam_groups.c.workteam_id == team_id)
            .order_by(workteam_groups.c.group_name)
        )
        .scalars()
        .all()
    )
    return Workteam(
        id=row.id,
        name=row.name,
        arn=row.arn,
        workforce_arn=row.workforce_arn,
        description=row.description,
        member_definitions=list(row.member_definitions),
        notification_configuration=row.notification_configuration,
        worker_access_configuration=row.worker_access_configuration,
        created_at=row.created_at,
        updated_at=row.updated_at,
        groups=tuple(groups),
    )
