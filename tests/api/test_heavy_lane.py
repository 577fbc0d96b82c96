"""The heavy lane (crowdloop.blocking): every List* operation of the API goes through it, and it runs one
heavy read at a time in a thread while the event loop goes on serving."""

from __future__ import annotations

import asyncio
import threading

from crowdloop.aws import a2i_runtime, sagemaker
from crowdloop.aws.app import HEAVY_OPERATIONS
from crowdloop.blocking import HeavyLane


def test_every_list_operation_is_a_heavy_one() -> None:
    listed = {op for op in (*sagemaker.OPERATIONS, *a2i_runtime.OPERATIONS) if op.startswith("List")}
    assert listed and listed <= HEAVY_OPERATIONS


def test_one_heavy_read_at_a_time_while_the_event_loop_serves() -> None:
    running, most = 0, 0
    counting = threading.Lock()
    release = threading.Event()

    def heavy() -> str:
        nonlocal running, most
        with counting:
            running += 1
            most = max(most, running)
        release.wait(10)  # held until the event loop has shown it is free
        with counting:
            running -= 1
        return threading.current_thread().name

    async def scenario() -> tuple[list[str], int]:
        lane = HeavyLane()
        reads = [asyncio.create_task(lane.run(heavy)) for _ in range(3)]
        ticks = 0
        for _ in range(20):  # the loop keeps running light work while the reads are under way
            await asyncio.sleep(0.005)
            ticks += 1
        release.set()
        return list(await asyncio.gather(*reads)), ticks

    outcome: list[tuple[list[str], int]] = []  # a thread of its own: the browser tests' Playwright keeps a loop here
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario())))
    runner.start()
    runner.join(30)
    [(names, ticks)] = outcome
    assert ticks == 20 and most == 1
    assert all(name != threading.main_thread().name for name in names)
