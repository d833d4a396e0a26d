"""AggregateLanes: one aggregate's work in the order it was started, different aggregates' side
by side, never more than the limit at once."""

from __future__ import annotations

import asyncio

from app.events.lanes import AggregateLanes, Work


class Recorder:
    """Work that sleeps, then notes its name; counts how many run at once."""

    def __init__(self) -> None:
        self.finished: list[str] = []
        self.running = 0
        self.most_at_once = 0

    def work(self, name: str, seconds: float, *, fail: bool = False) -> Work:
        async def run() -> None:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await asyncio.sleep(seconds)
                if fail:
                    raise RuntimeError(name)
                self.finished.append(name)
            finally:
                self.running -= 1

        return run


async def test_one_aggregates_work_runs_in_the_order_it_was_started() -> None:
    lanes, seen = AggregateLanes(limit=8), Recorder()
    for n, seconds in enumerate([0.05, 0.0, 0.03, 0.0]):
        await lanes.start("user-1", seen.work(f"a{n}", seconds))
    await lanes.finish(grace_seconds=5)
    assert seen.finished == ["a0", "a1", "a2", "a3"]
    assert seen.most_at_once == 1


async def test_different_aggregates_run_side_by_side() -> None:
    lanes, seen = AggregateLanes(limit=8), Recorder()
    await lanes.start("user-1", seen.work("slow", 0.1))
    await lanes.start("user-2", seen.work("fast", 0.0))
    await lanes.finish(grace_seconds=5)
    assert seen.finished == ["fast", "slow"]
    assert seen.most_at_once == 2


async def test_no_more_than_the_limit_run_at_once() -> None:
    lanes, seen = AggregateLanes(limit=3), Recorder()
    for n in range(10):
        await lanes.start(n, seen.work(str(n), 0.01))
    await lanes.finish(grace_seconds=5)
    assert len(seen.finished) == 10
    assert seen.most_at_once == 3


async def test_a_failure_does_not_stop_the_next_work_of_its_aggregate() -> None:
    lanes, seen = AggregateLanes(limit=8), Recorder()
    await lanes.start("user-1", seen.work("a0", 0.01, fail=True))
    await lanes.start("user-1", seen.work("a1", 0.0))
    await lanes.finish(grace_seconds=5)
    assert seen.finished == ["a1"]


async def test_finish_cancels_work_still_running_after_the_grace_period() -> None:
    lanes, seen = AggregateLanes(limit=8), Recorder()
    await lanes.start("user-1", seen.work("quick", 0.0))
    await lanes.start("user-2", seen.work("stuck", 60))
    await lanes.finish(grace_seconds=0.2)
    assert seen.finished == ["quick"]
    assert seen.running == 0
