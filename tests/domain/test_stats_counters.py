"""The counters stats.py reads agree with a recount of the rows after every step of random domain work (a
Hypothesis state machine on SQLite and PostgreSQL): starting loops, claims, submits, releases, declines,
stops, leases running out, loops failing at the end of their lifetime, deleted loops, and flow definitions
deleted and purged."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from crowdloop import flows, loops, queue, reaper, workforce
from crowdloop.clock import ManualClock
from crowdloop.errors import CrowdloopError
from crowdloop.runtime import Services
from crowdloop.store.tables import (
    assignments,
    flow_answer_hours,
    flow_answer_times,
    flow_definitions,
    flow_loop_counts,
    flow_worker_stats,
    human_loops,
    outbox,
    worker_groups,
    workers,
)
from tests.domain.loopsetup import CALLER, TEMPLATE, make_worker

STATS_TABLES = (flow_answer_hours, flow_answer_times, flow_worker_stats, flow_loop_counts)
ENDINGS = ["submit", "release", "decline"]
FlowKey = tuple[int, str, str]  # flow definition id, name, ARN


def loop_recount(conn: Any) -> dict[tuple[int, str], tuple[int, int, int]]:
    h = human_loops
    rows = conn.execute(
        sa.select(h.c.flow_definition_id, h.c.status, sa.func.count(), sa.func.sum(h.c.task_count))
        .add_columns(sa.func.sum(h.c.answers_count))
        .group_by(h.c.flow_definition_id, h.c.status)
    ).all()
    return {(int(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in rows}


def loop_counters(conn: Any) -> dict[tuple[int, str], tuple[int, int, int]]:
    c = flow_loop_counts
    rows = conn.execute(
        sa.select(c.c.flow_definition_id, c.c.status, sa.func.sum(c.c.loops), sa.func.sum(c.c.tasks))
        .add_columns(sa.func.sum(c.c.answers))
        .group_by(c.c.flow_definition_id, c.c.status)
    ).all()
    counted = {(int(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in rows}
    return {key: value for key, value in counted.items() if value != (0, 0, 0)}


class Counters(RuleBasedStateMachine):
    def __init__(self, svc: Services, team_arn: str, ui_arn: str) -> None:
        super().__init__()
        self.svc, self.team_arn, self.ui_arn = svc, team_arn, ui_arn
        with svc.store.write() as conn:  # each example starts from an empty store (but its team and UI)
            for table in (outbox, assignments, human_loops, *STATS_TABLES, flow_definitions, worker_groups, workers):
                conn.execute(table.delete())
        self.answers: Counter[tuple[int, int]] = Counter()  # (flow id, worker pk) -> answers submitted
        self.purged: set[int] = set()
        self.started: list[tuple[FlowKey, str]] = []

    flows_made = Bundle("flows")
    workers_made = Bundle("workers")
    leases = Bundle("leases")

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.svc.clock, ManualClock)
        return self.svc.clock

    @rule(target=flows_made, task_count=st.integers(1, 3), lifetime=st.sampled_from([120, 3600]))
    def new_flow(self, task_count: int, lifetime: int) -> FlowKey:
        name = f"fd-{uuid.uuid4().hex[:12]}"
        config = {
            "WorkteamArn": self.team_arn,
            "HumanTaskUiArn": self.ui_arn,
            "TaskCount": task_count,
            "TaskTitle": "Rank",
            "TaskDescription": "Rank",
            "TaskTimeLimitInSeconds": 60,
            "TaskAvailabilityLifetimeInSeconds": lifetime,
        }
        flow = flows.create_flow_definition(
            self.svc,
            CALLER,
            name,
            role_arn="arn:aws:iam::123456789012:role/a2i",
            output_config={"S3OutputPath": "s3://bucket/out"},
            human_loop_config=config,
        )
        flows.describe_flow_definition(self.svc, CALLER, name)  # Active
        return flow.id, flow.name, flow.arn

    @initialize(target=flows_made, task_count=st.integers(1, 3))
    def first_flow(self, task_count: int) -> FlowKey:
        flow = self.new_flow(task_count, 3600)
        self.start_loops(flow, 3)
        return flow

    @initialize(target=workers_made)
    def first_worker(self) -> int:
        return make_worker(self.svc).id

    @rule(target=workers_made)
    def new_worker(self) -> int:
        return make_worker(self.svc).id

    @rule(worker=workers_made, flow=flows_made, spent=st.floats(0, 5000, allow_nan=False))
    def answer(self, worker: int, flow: FlowKey, spent: float) -> None:
        lease = queue.claim(self.svc, worker, flow[0])
        if lease is not None:
            self.end_lease((lease.assignment_id, worker, flow[0]), spent, "submit")

    @rule(flow=flows_made, n=st.integers(1, 3))
    def start_loops(self, flow: FlowKey, n: int) -> None:
        for _ in range(n):
            name = f"loop-{len(self.started)}-{flow[0]}"
            try:
                loops.start_human_loop(self.svc, CALLER, name, flow[2], json.dumps({"text": name}))
            except CrowdloopError:
                return  # the flow definition is being deleted
            self.started.append((flow, name))

    @rule(target=leases, worker=workers_made, flow=flows_made)
    def claim(self, worker: int, flow: FlowKey) -> tuple[int, int, int]:
        lease = queue.claim(self.svc, worker, flow[0])
        return (lease.assignment_id, worker, flow[0]) if lease is not None else (0, worker, flow[0])

    @rule(
        lease=leases, spent=st.floats(0, 5000, allow_nan=False), how=st.sampled_from(["submit", "release", "decline"])
    )
    def end_lease(self, lease: tuple[int, int, int], spent: float, how: str) -> None:
        assignment, worker, flow_id = lease
        try:
            if how == "submit":
                queue.submit(self.svc, assignment, worker, {"spent": spent}, spent)
                self.answers[(flow_id, worker)] += 1
            elif how == "release":
                queue.release(self.svc, assignment, worker)
            else:
                queue.decline(self.svc, assignment, worker)
        except CrowdloopError:
            pass  # not held (any more): expired, withdrawn, ended, or no lease at all

    @rule(i=st.integers(0, 1000))
    def stop_loop(self, i: int) -> None:
        if self.started:
            with contextlib.suppress(CrowdloopError):
                loops.stop_human_loop(self.svc, CALLER, self.started[i % len(self.started)][1])

    @rule(i=st.integers(0, 1000))
    def delete_loop(self, i: int) -> None:
        if self.started:
            with contextlib.suppress(CrowdloopError):
                loops.delete_human_loop(self.svc, CALLER, self.started[i % len(self.started)][1])

    @rule(seconds=st.sampled_from([1, 61, 121, 3601]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)
        reaper.reap(self.svc)
        self._forget_purged()

    @rule(flow=flows_made)
    def delete_flow(self, flow: FlowKey) -> None:
        try:
            flows.delete_flow_definition(self.svc, CALLER, flow[1])
        except CrowdloopError:
            return
        self.clock.advance(1)
        reaper.reap(self.svc)  # writes due outputs
        reaper.reap(self.svc)  # then purges the flow definitions none of whose loops is busy
        self._forget_purged()

    def _forget_purged(self) -> None:
        """A purged flow definition's answers are gone with it (and SQLite may give its id to the next one)."""
        with self.svc.store.read() as conn:
            present = {int(i) for i in conn.execute(sa.select(flow_definitions.c.id)).scalars()}
        for key in [key for key in self.answers if key[0] not in present]:
            del self.answers[key]

    @invariant()
    def loop_counts_agree(self) -> None:
        with self.svc.store.read() as conn:
            assert loop_counters(conn) == loop_recount(conn)

    @invariant()
    def answer_statistics_agree(self) -> None:
        with self.svc.store.read() as conn:
            present = {int(i) for i in conn.execute(sa.select(flow_definitions.c.id)).scalars()}
            expected = dict(self.answers)
            w, t, h = flow_worker_stats, flow_answer_times, flow_answer_hours
            by_worker = {(int(r[0]), int(r[1])): int(r[2]) for r in conn.execute(sa.select(w.c[0:3]))}
            by_time = {
                (int(r[0]), int(r[1])): int(r[2])
                for r in conn.execute(
                    sa.select(t.c.flow_definition_id, t.c.worker_id, sa.func.sum(t.c.answers)).group_by(
                        t.c.flow_definition_id, t.c.worker_id
                    )
                )
            }
            by_hour = {
                int(r[0]): int(r[1])
                for r in conn.execute(
                    sa.select(h.c.flow_definition_id, sa.func.sum(h.c.answers)).group_by(h.c.flow_definition_id)
                )
            }
            gone = conn.execute(
                sa.select(sa.func.count())
                .select_from(flow_loop_counts)
                .where(flow_loop_counts.c.flow_definition_id.not_in(present))
            ).scalar_one()
        assert by_worker == expected
        assert by_time == expected
        per_flow: Counter[int] = Counter()
        for (flow_id, _worker), n in expected.items():
            per_flow[flow_id] += n
        assert by_hour == dict(per_flow)
        assert gone == 0


def test_counters_match_a_recount(services: Services) -> None:
    """One store for every example (a fresh one each would be slow): the counters must agree whatever came
    before, so each example starts from what the last one left."""
    team = workforce.create_workteam(
        services,
        CALLER,
        "raters",
        description="raters",
        member_definitions=[{"OidcMemberDefinition": {"Groups": ["raters"]}}],
    )
    ui = flows.create_human_task_ui(services, CALLER, "ui", TEMPLATE)
    run_state_machine_as_test(
        lambda: Counters(services, team.arn, ui.arn),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
