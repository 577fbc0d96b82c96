"""Every table crowdloop stores. Times are UTC datetimes stored as integer microseconds since the epoch
(identical on SQLite and PostgreSQL, sortable, no timezone surprises)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(int(value) // 1_000_000, UTC).replace(microsecond=int(value) % 1_000_000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _account_region_name() -> list[sa.Column[Any]]:
    """The first columns of a table of named AWS resources: its id and the (account, region, name) that
    names it (new Column objects on each call: a column belongs to one table)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
    ]


access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(128), primary_key=True),
    sa.Column("secret_access_key", sa.String(128), nullable=False),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# Template contents, content-addressed so loops keep rendering after their task UI is deleted.
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("content", sa.Text, nullable=False),
)

human_task_uis = sa.Table(
    "human_task_uis",
    metadata,
    *_account_region_name(),
    sa.Column("arn", sa.String(1024), nullable=False, unique=True),
    sa.Column("template_sha256", sa.String(64), sa.ForeignKey("templates.sha256"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("account", "region", "name"),
)

flow_definitions = sa.Table(
    "flow_definitions",
    metadata,
    *_account_region_name(),
    sa.Column("arn", sa.String(1024), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("role_arn", sa.String(2048), nullable=False),
    sa.Column("workteam_arn", sa.String(256), nullable=False),
    sa.Column("human_task_ui_arn", sa.String(1024), nullable=False),
    sa.Column("template_sha256", sa.String(64), sa.ForeignKey("templates.sha256"), nullable=False),
    sa.Column("task_count", sa.Integer, nullable=False),
    sa.Column("task_title", sa.String(128), nullable=False),
    sa.Column("task_description", sa.String(255), nullable=False),
    sa.Column("task_time_limit_seconds", sa.Integer, nullable=False),
    sa.Column("task_availability_lifetime_seconds", sa.Integer, nullable=False),
    sa.Column("output_path", sa.String(1024), nullable=False),
    # The request members exactly as sent, echoed by DescribeFlowDefinition.
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("failure_reason", sa.String(1024)),
    # Set on the flow definition a labeling job runs its tasks through (crowdloop/groundtruth): such a flow
    # is internal (name "~<job id>", the job's ARN) and never listed or described by the A2I API.
    sa.Column("labeling_job_id", sa.Integer),
    sa.UniqueConstraint("account", "region", "name"),
)

workforces = sa.Table(
    "workforces",
    metadata,
    *_account_region_name(),
    sa.Column("arn", sa.String(256), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    # CognitoConfig / OidcConfig (with ClientSecret) / SourceIpConfig / WorkforceVpcConfig / IpAddressType
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("account", "region", "name"),
)

workteams = sa.Table(
    "workteams",
    metadata,
    *_account_region_name(),
    sa.Column("arn", sa.String(256), nullable=False, unique=True),
    sa.Column("workforce_id", sa.Integer, sa.ForeignKey("workforces.id"), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("member_definitions", sa.JSON, nullable=False),
    sa.Column("notification_configuration", sa.JSON),
    sa.Column("worker_access_configuration", sa.JSON),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("account", "region", "name"),
)

# The group names a work team's MemberDefinitions select (Cognito UserGroup / OIDC Groups).
workteam_groups = sa.Table(
    "workteam_groups",
    metadata,
    sa.Column("workteam_id", sa.Integer, sa.ForeignKey("workteams.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_name", sa.String(128), primary_key=True),
)

# A worker is a local account (issuer "", a password, sub a UUID) or an identity of the workforce's OIDC
# provider (issuer = OidcConfig.Issuer, sub = the sagemaker:sub claim, no password). (issuer, sub) is what
# output.json reports; email is the handle admins and the portal use (for OIDC workers, the email claim
# when no other worker has it, else "<sub>@<issuer host>").
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("worker_id", sa.String(32), nullable=False, unique=True),  # the opaque id in output.json
    sa.Column("issuer", sa.String(500), nullable=False, server_default=""),
    sa.Column("sub", sa.String(255), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("status", sa.String(16), nullable=False),  # active | disabled | invited
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("issuer", "sub"),
)

worker_groups = sa.Table(
    "worker_groups",
    metadata,
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_name", sa.String(128), primary_key=True),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("resource_arn", sa.String(1024), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

human_loops = sa.Table(
    "human_loops",
    metadata,
    *_account_region_name(),
    sa.Column("name_key", sa.String(63), nullable=False),  # lower-cased: names are unique case-insensitively
    sa.Column("arn", sa.String(1024), nullable=False),
    sa.Column("flow_definition_id", sa.Integer, sa.ForeignKey("flow_definitions.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("input_content", sa.Text, nullable=False),
    sa.Column("data_attributes", sa.JSON),
    sa.Column("output_uri", sa.String(2048), nullable=False),
    sa.Column("template_sha256", sa.String(64), sa.ForeignKey("templates.sha256"), nullable=False),
    sa.Column("task_count", sa.Integer, nullable=False),
    # Slots still offered to workers: task_count - leased - submitted. Kept on the loop row so a claim
    # is one conditional UPDATE that PostgreSQL re-checks under its row lock.
    sa.Column("open_slots", sa.Integer, nullable=False),
    sa.Column("answers_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("task_time_limit_seconds", sa.Integer, nullable=False),
    sa.Column("available_until", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("failure_reason", sa.String(1024)),
    sa.Column("failure_code", sa.String(32)),
    # Set, with the outbox row deleted, once output.json is in the blob store (crowdloop/output.py).
    sa.Column("output_written", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.UniqueConstraint("account", "region", "name_key"),
    # Claims walk the open loops of one flow definition in id order (FIFO). Partial, so the claim
    # statement (store/dialect.py) must repeat the predicate literally for SQLite to use it.
    sa.Index(
        "ix_human_loops_claim",
        "flow_definition_id",
        "id",
        sqlite_where=sa.text("status = 'InProgress' AND open_slots > 0"),
        postgresql_where=sa.text("status = 'InProgress' AND open_slots > 0"),
    ),
    sa.Index("ix_human_loops_list", "flow_definition_id", "created_at", "id"),
    # The console's loops table filtered by status: a seek, newest first, whatever the store's size.
    sa.Index("ix_human_loops_flow_status", "flow_definition_id", "status", "created_at", "id"),
    # The reaper: InProgress loops past available_until, Stopping loops; the in-progress quota count.
    sa.Index("ix_human_loops_status_available", "status", "available_until"),
    # The reaper's safety net for stalled loops (queue._reopen_stalled) reads only loops in progress with no
    # open slot: those whose slots are all leased, a few, whatever the store's size. Partial, like the claim's;
    # its columns are the predicate's, so SQLite seeks it (it does not scan a partial index for a WHERE clause).
    sa.Index(
        "ix_human_loops_no_open_slot",
        "status",
        "open_slots",
        sqlite_where=sa.text("status = 'InProgress' AND open_slots = 0"),
        postgresql_where=sa.text("status = 'InProgress' AND open_slots = 0"),
    ),
)

# One row per (loop, worker) attempt. The partial unique index is what guarantees a worker never holds
# or answers the same loop twice, whatever the interleaving of concurrent claims.
assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("loop_id", sa.Integer, sa.ForeignKey("human_loops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # leased submitted released declined expired withdrawn
    sa.Column("accepted_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("answer_content", sa.Text),
    sa.Column("time_spent_seconds", sa.Float),
    # crowdloop:shuffle-responses: the order the responses were shown in, drawn at claim time as compact
    # JSON ("[2,0,1]": displayed position k showed original response order[k]); NULL: input order
    sa.Column("response_order", sa.Text),
    sa.Index(
        "uq_assignments_loop_worker_active",
        "loop_id",
        "worker_id",
        unique=True,
        sqlite_where=sa.text("state IN ('leased', 'submitted', 'declined')"),
        postgresql_where=sa.text("state IN ('leased', 'submitted', 'declined')"),
    ),
    sa.Index("ix_assignments_loop_state", "loop_id", "state"),  # output.json of a loop: its submitted answers
    sa.Index("ix_assignments_state_expires", "state", "expires_at"),
    # A worker's assignments by state, recent ones as a range (the job list: queue.jobs_for_worker).
    sa.Index("ix_assignments_worker_accepted", "worker_id", "state", "accepted_at"),
)

# --- worker portal ------------------------------------------------------------------------------------

# Server-side portal sessions. The cookie carries a random token; only its SHA-256 is stored, so a copy
# of the database does not hand out live sessions. Each session has its own CSRF token.
portal_sessions = sa.Table(
    "portal_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index("ix_portal_sessions_worker_id", "worker_id"),
)

# Invitation links (crowdloop/invites.py): the worker sets a password with the link's token, once.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime),
    sa.Index("ix_invitations_worker_id", "worker_id"),
)

# Failed portal sign-ins, one row each, keyed by "email:<address>" and "ip:<address>" (rate limiting).
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subject", sa.String(400), nullable=False),
    sa.Column("failed_at", UtcDateTime, nullable=False),
    sa.Index("ix_sign_in_failures_subject", "subject", "failed_at"),
    sa.Index("ix_sign_in_failures_failed_at", "failed_at"),
)

# Messages leaving the process (crowdloop/outbox.py): a row is inserted in the same transaction as the
# change it reports and deleted once delivered. One row per (kind, key): for kind "output" the key is the
# human loop's id and the payload, when set, the document of a loop deleted before its output was written.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimed_until", UtcDateTime),  # a writer holds it until then (or until it lets go)
    sa.Column("claim_token", sa.String(32)),  # which writer
    sa.UniqueConstraint("kind", "key"),
    sa.Index("ix_outbox_kind_id", "kind", "id"),  # claims walk a kind's rows in id order
)

# What a running server announced (crowdloop/announce.py), one row per name: e.g. 'portal_url', the public
# base URL `serve` printed on its last start, which the CLI puts in the links it prints.
announcements = sa.Table(
    "announcements",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("announced_at", UtcDateTime, nullable=False),
)

# --- the requester's view (crowdloop/stats.py, insights.py, consoleauth.py) ---

# Loops per flow definition and status, kept by database triggers on human_loops (store/dialect.py:
# STATS_TRIGGERS), so no write path can forget them: loops, the sum of their task_count and of their
# answers_count. `shard` spreads concurrent writers of one flow over several rows (PostgreSQL); readers sum.
flow_loop_counts = sa.Table(
    "flow_loop_counts",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("shard", sa.SmallInteger, primary_key=True),
    sa.Column("loops", sa.BigInteger, nullable=False),
    sa.Column("tasks", sa.BigInteger, nullable=False),
    sa.Column("answers", sa.BigInteger, nullable=False),
)

# Answers submitted per flow definition and hour (hours since the epoch, UTC), with their time spent.
# `shard` spreads the concurrent submits of one flow over several rows (PostgreSQL), as in flow_loop_counts.
flow_answer_hours = sa.Table(
    "flow_answer_hours",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("hour", sa.Integer, primary_key=True),
    sa.Column("shard", sa.SmallInteger, primary_key=True),
    sa.Column("answers", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
)

# Each worker's answers on a flow definition: count, time spent, first and last answer.
flow_worker_stats = sa.Table(
    "flow_worker_stats",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("answers", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("first_answer_at", UtcDateTime, nullable=False),
    sa.Column("last_answer_at", UtcDateTime, nullable=False),
)

# A histogram of time spent per answer (log-spaced buckets, stats.py) per flow definition and worker:
# medians without reading the answers.
flow_answer_times = sa.Table(
    "flow_answer_times",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("bucket", sa.SmallInteger, primary_key=True),
    sa.Column("answers", sa.BigInteger, nullable=False),
)

# The agreement statistics of a flow definition (the export's maths), computed in the background and
# kept until enough new answers arrive (crowdloop/insights.py).
flow_insights = sa.Table(
    "flow_insights",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("answers_seen", sa.BigInteger, nullable=False),
    sa.Column("computed_at", UtcDateTime, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
)

# Which process computes a flow definition's agreement figures now (crowdloop.insights.claim_refresh): one at
# a time over every process sharing the store; renewed while the computation runs, removed when it ends.
flow_insight_claims = sa.Table(
    "flow_insight_claims",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("claimed_until", UtcDateTime, nullable=False),
    sa.Column("claim_token", sa.String(32), nullable=False),
)

# Requester console sessions (crowdloop/consoleauth.py): the browser holds a random token, the store its
# SHA-256, the access key it signed in with and the session's CSRF token. Separate from portal_sessions.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "access_key_id",
        sa.String(128),
        sa.ForeignKey("access_keys.access_key_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index("ix_console_sessions_access_key_id", "access_key_id"),
)

# One-time console sign-in links (`serve` prints one): used once, then kept until they expire.
console_links = sa.Table(
    "console_links",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "access_key_id",
        sa.String(128),
        sa.ForeignKey("access_keys.access_key_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime),
)

# --- gold items and qualification (crowdloop/gold.py; docs/quality.md) -----------------------------------------

# Items with a known answer, mixed into a flow definition's queue (crowdloop:gold-rate) or answered before its
# real tasks (crowdloop:qualification). `gold delete` retires an item (retired_at) so its answers keep their scores.
gold_items = sa.Table(
    "gold_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "flow_definition_id", sa.Integer, sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(128), nullable=False),  # the JSONL line's "id", or "gold-<n>"
    sa.Column("input_content", sa.Text, nullable=False),  # JSON: what StartHumanLoop's InputContent would hold
    sa.Column("answer", sa.Text, nullable=False),  # JSON: {"best": i} | {"ranking": [...]} | {"label(s)": ...}
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("retired_at", UtcDateTime),  # NULL: active
    sa.UniqueConstraint("flow_definition_id", "name"),
)

# A worker's hold on, or answer to, one gold item. The partial unique index keeps one live row per (item,
# worker); the claim also skips items the worker ever had, so nobody sees the same gold item twice.
gold_assignments = sa.Table(
    "gold_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("gold_item_id", sa.Integer, sa.ForeignKey("gold_items.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "flow_definition_id", sa.Integer, sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # leased submitted released expired
    sa.Column("accepted_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("answer_content", sa.Text),
    sa.Column("time_spent_seconds", sa.Float),
    sa.Column("response_order", sa.Text),  # crowdloop:shuffle-responses, as assignments.response_order
    sa.Column("score", sa.Float),  # 0..1, NULL until submitted
    sa.Column("qualifying", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Index(
        "uq_gold_assignments_item_worker_live",
        "gold_item_id",
        "worker_id",
        unique=True,
        sqlite_where=sa.text("state IN ('leased', 'submitted')"),
        postgresql_where=sa.text("state IN ('leased', 'submitted')"),
    ),
    sa.Index("ix_gold_assignments_worker_flow", "worker_id", "flow_definition_id", "state"),
    sa.Index("ix_gold_assignments_state_expires", "state", "expires_at"),
    sa.Index("ix_gold_assignments_item_state", "gold_item_id", "state"),
)

# Each worker's standing on a flow definition's gold items: counters (no counting on the task path), and
# whether they are paused (accuracy below crowdloop:gold-min-accuracy) or passed or failed the qualification.
worker_flow_quality = sa.Table(
    "worker_flow_quality",
    metadata,
    sa.Column(
        "flow_definition_id",
        sa.Integer,
        sa.ForeignKey("flow_definitions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("gold_answered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("gold_score_sum", sa.Float, nullable=False, server_default="0"),
    sa.Column("real_since_gold", sa.Integer, nullable=False, server_default="0"),
    sa.Column("paused_at", UtcDateTime),
    sa.Column("qualified_at", UtcDateTime),
    sa.Column("failed_at", UtcDateTime),  # the qualification was failed
)

# --- events (crowdloop/eventlog.py, subscriptions.py, deliveries.py; docs/events.md) -------------------------

# The event log: every event, once fanned out of the outbox (eventlog.py). `seq` orders the log for the live
# stream; events from concurrent processes may commit slightly out of seq order (the stream allows for it).
events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("detail_type", sa.String(128), nullable=False),
    sa.Column("time", UtcDateTime, nullable=False),  # the event's own time (when the change happened)
    sa.Column("logged_at", UtcDateTime, nullable=False),  # when it entered the log (retention)
    sa.Column("body", sa.LargeBinary, nullable=False),  # the encoded event, the bytes every target receives
    sa.Index("ix_events_logged_at", "logged_at"),
)

# Who is told about which events: a webhook URL, an EventBridge bus or an SNS topic, with an event pattern.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # webhook | eventbridge | sns
    sa.Column("target", sa.String(2048), nullable=False),  # the URL, the bus name or ARN, the topic ARN
    sa.Column("pattern", sa.Text, nullable=False),  # the EventBridge event pattern, as given
    sa.Column("secret", sa.String(128)),  # webhook: the Standard Webhooks signing secret (whsec_...)
    sa.Column("config", sa.JSON),  # eventbridge / sns: region, endpoint_url, access_key_id, secret_access_key
    sa.Column("description", sa.String(256), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),  # an access key id, or "cli"
)

# One row per (subscription, matching event): pending until sent, then delivered or failed (kept for the
# console and `crowdloop webhooks deliveries` until the retention sweep).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_seq", sa.BigInteger, sa.ForeignKey("events.seq"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("created_at", UtcDateTime, nullable=False),  # the retry window starts here (or at a redelivery)
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_attempt_at", UtcDateTime),
    sa.Column("last_status", sa.Integer),  # the HTTP status of the last attempt, if a response came
    sa.Column("last_error", sa.String(512)),
    sa.Column("ended_at", UtcDateTime),  # delivered or failed at
    sa.Column("claimed_until", UtcDateTime),  # a dispatcher lane holds it until then
    sa.Column("claim_token", sa.String(32)),
    sa.UniqueConstraint("subscription_id", "event_seq"),
    # The dispatcher's claim: a subscription's due deliveries, oldest first. Partial: a seek past the sent ones.
    sa.Index(
        "ix_deliveries_due",
        "subscription_id",
        "next_attempt_at",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
    sa.Index("ix_deliveries_list", "subscription_id", "state", "id"),  # the deliveries table, newest first
    sa.Index("ix_deliveries_event", "event_seq"),  # the retention sweep: is an event still pending somewhere
    sa.Index("ix_deliveries_ended", "ended_at"),  # the retention sweep
)


# --- Ground Truth labeling jobs (crowdloop/groundtruth/jobs.py owns both tables) ---------------------------

labeling_jobs = sa.Table(
    "labeling_jobs",
    metadata,
    *_account_region_name(),
    sa.Column("name_key", sa.String(63), nullable=False),  # lower-cased: names are unique case-insensitively
    sa.Column("arn", sa.String(1024), nullable=False, unique=True),  # carries the lower-cased name, as AWS's
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("job_reference_code", sa.String(28), nullable=False),
    sa.Column("workteam_arn", sa.String(256), nullable=False),
    sa.Column("task_type", sa.String(64)),  # groundtruth.tasktypes.TaskType; NULL: a custom job
    # The request members as sent (with the server's defaults filled in), echoed by DescribeLabelingJob.
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("flow_definition_id", sa.Integer, sa.ForeignKey("flow_definitions.id")),  # set when initialised
    sa.Column("labels", sa.JSON),  # the label category file's `labels` entries, read when initialised
    sa.Column("failure_reason", sa.String(1024)),
    # Objects by outcome (the LabelCounters): Unlabeled = objects - labeled - failed - skipped.
    sa.Column("objects", sa.Integer, nullable=False, server_default="0"),
    sa.Column("labeled", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("released", sa.Integer, nullable=False, server_default="0"),  # out with workers or consolidating
    sa.Column("queued", sa.Integer, nullable=False, server_default="0"),  # waiting to be released
    # No object below this index is queued (objects are released in index order): release seeks from here.
    sa.Column("next_release", sa.Integer, nullable=False, server_default="0"),
    # The background step (groundtruth/runner.py): due at next_step_at; claimed by one process at a time.
    sa.Column("next_step_at", UtcDateTime, nullable=False),
    sa.Column("claimed_until", UtcDateTime),
    sa.Column("claim_token", sa.String(32)),
    sa.Column("wakes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_batch_at", UtcDateTime),  # the newest consolidation batch's time (its files' names)
    sa.UniqueConstraint("account", "region", "name_key"),
    sa.Index("ix_labeling_jobs_list", "account", "region", "created_at", "id"),
    sa.Index("ix_labeling_jobs_due", "next_step_at"),
)

# One row per data object of a labeling job: its manifest line (index = datasetObjectId), where it is, the
# loop that carries its tasks while released, and its consolidated label once labeled.
labeling_objects = sa.Table(
    "labeling_objects",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("labeling_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("object_index", sa.Integer, primary_key=True),
    sa.Column("line", sa.Text, nullable=False),  # the manifest line as read (compact JSON)
    # queued -> released (a loop carries its tasks) -> consolidating (in a batch) -> labeled or failed; skipped (the
    # pre-annotation Lambda said no human is needed); withdrawn (its job stopped before anyone answered it)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("loop_id", sa.Integer),
    sa.Column("label", sa.Text),  # compact JSON: the consolidated content merged into the output line
    sa.Column("failure_reason", sa.String(1024)),
    # The consolidation batch the object is in (its files' time): set before the batch's files are written,
    # so a step that dies midway writes the same files again, not a second set.
    sa.Column("batch_at", UtcDateTime),
    # A streaming job's object id (its dataset-objectid-attribute-name value, or the SHA-256 of the line): the
    # same object sent twice is one object. NULL for a manifest's lines.
    sa.Column("object_key", sa.String(1024)),
    sa.Index("ix_labeling_objects_state", "job_id", "state", "object_index"),
    sa.Index("uq_labeling_objects_key", "job_id", "object_key", unique=True),
)
