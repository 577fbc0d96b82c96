"""Benchmark: status-change events delivered to a webhook while StartHumanLoop runs under load (SQLite).

A real `crowdloop serve`, a local receiver checking every signature (tests/events/receiver.py), one webhook
subscription matching every event. wrk replays pre-signed StartHumanLoop requests (32 connections) in
alternating runs without and with the subscription (baseline, subscribed, baseline, subscribed), so the cost
of delivering is measured against a baseline taken in the same run. Meanwhile a probe starts one loop every
PROBE_SECONDS through boto3 and notes when each call returned: the delivery lag is the time from that
response to the event's arrival at the receiver. Finally every delivery is made due again at once (a
redelivery of the whole backlog) to measure the dispatcher's own ceiling, with no load competing.

Prints one JSON line: events delivered per second (during the load, and draining a backlog), lag p50/p99,
StartHumanLoop rates with and without the subscription and their ratio.

    python bench/events.py [--seconds 6] [--connections 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep this folder off the import path. The
# repository goes first: a dependency of the test extra (smdebug_rulesconfig) installs a top-level `tests`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.common import Server, run_wrk, start_server
from bench.start_loops import set_up, write_requests
from crowdloop import subscriptions
from crowdloop.app import build_services
from crowdloop.config import Settings
from crowdloop.runtime import Services
from crowdloop.store.tables import deliveries
from crowdloop.webhook_signing import generate_secret
from tests.events.receiver import WebhookReceiver

PROBE_SECONDS = 0.05
EVERYTHING = '{"version": ["0"]}'
SERVER_ENV = {"CROWDLOOP_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}


class Probe:
    """Starts a loop every PROBE_SECONDS while running; loop ARN -> monotonic time its call returned."""

    def __init__(self, server: Server, flow_arn: str) -> None:
        self._a2i = server.client("sagemaker-a2i-runtime")
        self._flow_arn = flow_arn
        self.returned: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._count = 0

    def _run(self) -> None:
        while not self._stop.wait(PROBE_SECONDS):
            self._count += 1
            reply = self._a2i.start_human_loop(
                HumanLoopName=f"probe-{time.monotonic_ns()}-{self._count}",
                FlowDefinitionArn=self._flow_arn,
                HumanLoopInput={"InputContent": "{}"},
            )
            self.returned[reply["HumanLoopArn"]] = time.monotonic()

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    requests: int  # loops wrk started
    rate: float  # their StartHumanLoop rate per second
    probes: dict[str, float]  # probe loop ARN -> time.monotonic() its call returned
    started: float  # time.monotonic() at the start
    server_cpu_seconds: float  # what the server process used during the run (its delivery threads included)
    delivery_cpu_seconds: float  # what its event delivery process used (event_delivery=process)
    receiver_cpu_seconds: float  # this process's (the receiver's and the probe's): the same 2 CPUs


def measure_run(
    server: Server, flow_arn: str, requests_file: Path, args: argparse.Namespace, profile: Path | None
) -> Run:
    """One wrk run with the probe alongside (and py-spy sampling the server, when asked)."""
    started, cpu, own_cpu = time.monotonic(), server.cpu_seconds(), time.process_time()
    child_cpu = server.children_cpu_seconds()
    spy = None
    if profile is not None:
        command = [
            shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.process.pid),
            "--format",
            "raw",
            "--nonblocking",
        ]
        command += ["--subprocesses", "--threads", "--output", str(profile), "--duration", str(round(args.seconds))]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with Probe(server, flow_arn) as probe:
        result = run_wrk(requests_file, server.endpoint_url + "/", connections=args.connections, seconds=args.seconds)
    if spy is not None:
        spy.wait()
    if result["non_2xx"] or result["socket_errors"] or result["replayed"]:
        raise RuntimeError(f"bad run: {result}")
    cpu, own_cpu = server.cpu_seconds() - cpu, time.process_time() - own_cpu
    child_cpu = server.children_cpu_seconds() - child_cpu
    rate = result["requests"] / (result["duration_us"] / 1e6)
    time.sleep(1.0)  # the run's last events are logged (and fanned out) before anything changes
    return Run(int(result["requests"]), rate, probe.returned, started, cpu, child_cpu, own_cpu)


def wait_for(receiver: WebhookReceiver, count: int, seconds: float = 120) -> None:
    arrived = receiver.wait_until(lambda arrivals: len(arrivals) >= count, seconds)
    if len(arrived) < count:
        raise RuntimeError(f"only {len(arrived)} of {count} events arrived")


def redeliver_all(svc: Services, subscription_id: int) -> int:
    """Make every delivery of the subscription due again now (the backlog a receiver's outage leaves): what
    deliveries.redeliver does to one, in one statement, so the dispatcher finds the whole backlog at once."""
    now = datetime.now(UTC)
    with svc.store.write() as conn:
        return int(
            conn.execute(
                deliveries.update()
                .where(deliveries.c.subscription_id == subscription_id)
                .values(state="pending", next_attempt_at=now, created_at=now, ended_at=None)
            ).rowcount
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each of the four load runs")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20000, help="pre-signed requests per run")
    parser.add_argument(
        "--event-delivery",
        choices=("process", "threads"),
        default="process",
        help="the server's event_delivery setting (process: the default)",
    )
    parser.add_argument("--profile", type=Path, help="folder for py-spy's samples of the server (raw stacks)")
    args = parser.parse_args()

    server = start_server(extra_env={**SERVER_ENV, "CROWDLOOP_EVENT_DELIVERY": args.event_delivery})
    svc = build_services(Settings(data_dir=str(server.data_dir), webhook_allow_private_targets=True))
    secret = generate_secret().reveal()
    receiver = WebhookReceiver(secret)
    receiver.start()
    try:
        flow_arn = set_up(server)
        work = Path(tempfile.mkdtemp(prefix="crowdloop-bench-"))
        files = [work / f"run-{i}.bin" for i in range(4)]
        for path in files:
            write_requests(path, server, args.requests, flow_arn, noop=False)

        rates: dict[str, list[float]] = {"baseline": [], "subscribed": []}
        cpu_ms: dict[str, list[float]] = {"baseline": [], "subscribed": []}
        receiver_cpu_ms: dict[str, list[float]] = {"baseline": [], "subscribed": []}
        delivery_cpu_ms: dict[str, list[float]] = {"baseline": [], "subscribed": []}
        lags: list[float] = []
        delivered_rates: list[float] = []
        subscription_id = 0
        for index, path in enumerate(files):
            with_subscription = index % 2 == 1
            if with_subscription:
                subscription_id = subscriptions.create(
                    svc, kind="webhook", target=receiver.url, pattern=EVERYTHING, created_by="bench", secret=secret
                ).id
            kind = "subscribed" if with_subscription else "baseline"
            before = len(receiver.arrivals)
            profile = args.profile / f"{kind}-{index}.txt" if args.profile and index >= 2 else None
            run = measure_run(server, flow_arn, path, args, profile)
            rates[kind].append(run.rate)
            cpu_ms[kind].append(1000 * run.server_cpu_seconds / (run.requests + len(run.probes)))
            receiver_cpu_ms[kind].append(1000 * run.receiver_cpu_seconds / (run.requests + len(run.probes)))
            delivery_cpu_ms[kind].append(1000 * run.delivery_cpu_seconds / (run.requests + len(run.probes)))
            if not with_subscription:
                continue
            wait_for(receiver, before + run.requests + len(run.probes))
            arrivals = receiver.arrivals[before:]
            delivered_rates.append(len(arrivals) / (max(a.received_at for a in arrivals) - run.started))
            arrived = {a.event["resources"][0]: a.received_at for a in arrivals}
            lags += [arrived[arn] - returned for arn, returned in run.probes.items()]
            if index < len(files) - 1:
                subscriptions.delete(svc, subscription_id)

        # the dispatcher's own ceiling: the last run's deliveries all due again, nothing else running
        before, cpu, child_cpu = len(receiver.arrivals), server.cpu_seconds(), server.children_cpu_seconds()
        backlog = redeliver_all(svc, subscription_id)
        wait_for(receiver, before + backlog)
        drain_cpu_ms = 1000 * (server.cpu_seconds() - cpu) / backlog
        drain_child_cpu_ms = 1000 * (server.children_cpu_seconds() - child_cpu) / backlog
        drained = receiver.arrivals[before:]
        drain_rate = len(drained) / (drained[-1].received_at - drained[0].received_at)
        unverified = sum(not a.verified for a in receiver.arrivals)
    finally:
        receiver.stop()
        server.stop()
        svc.store.dispose()

    baseline, subscribed = statistics.mean(rates["baseline"]), statistics.mean(rates["subscribed"])
    print(
        json.dumps(
            {
                "bench": "events",
                "backend": "sqlite",
                "connections": args.connections,
                "events_delivered_per_s_under_load": round(statistics.mean(delivered_rates), 1),
                "events_delivered_per_s_backlog": round(drain_rate, 1),
                "backlog_events": backlog,
                "event_delivery": args.event_delivery,
                "server_cpu_ms_per_delivery_backlog": round(drain_cpu_ms, 3),
                "delivery_process_cpu_ms_per_delivery_backlog": round(drain_child_cpu_ms, 3),
                "lag_p50_ms": round(1000 * percentile(lags, 0.5), 1),
                "lag_p99_ms": round(1000 * percentile(lags, 0.99), 1),
                "lag_samples": len(lags),
                "start_loops_per_s_baseline": round(baseline, 1),
                "start_loops_per_s_subscribed": round(subscribed, 1),
                "start_loops_ratio": round(subscribed / baseline, 3),
                "runs_per_s": {k: [round(r, 1) for r in v] for k, v in rates.items()},
                "server_cpu_ms_per_loop": {k: round(statistics.mean(v), 3) for k, v in cpu_ms.items()},
                "receiver_cpu_ms_per_loop": {k: round(statistics.mean(v), 3) for k, v in receiver_cpu_ms.items()},
                "delivery_process_cpu_ms_per_loop": {
                    k: round(statistics.mean(v), 3) for k, v in delivery_cpu_ms.items()
                },
                "unverified_signatures": unverified,
            }
        )
    )


if __name__ == "__main__":
    main()
