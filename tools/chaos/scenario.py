"""Runs the faults one after another under steady traffic and checks the ledger after each.

rows = run_scenario(Timing.full(), Path("run/chaos"))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.chaos.environment import ChaosEnvironment
from tools.chaos.faults import FAULTS, Fault
from tools.chaos.report import Row, Window, analyse
from tools.chaos.traffic import Traffic


@dataclass(frozen=True)
class Timing:
    writers: int
    steady: float  # traffic before each fault
    outage: float  # how long a held fault lasts
    observe: float  # traffic after the dependency is back

    @classmethod
    def full(cls) -> Timing:
        return cls(writers=8, steady=3.0, outage=5.0, observe=5.0)

    @classmethod
    def short(cls) -> Timing:
        return cls(writers=6, steady=1.0, outage=3.0, observe=3.0)


def run_scenario(timing: Timing, run_dir: Path, faults: Sequence[Fault] = FAULTS) -> list[Row]:
    """The faults in order on one stack; on a Redis Cluster if any of them needs one."""
    on_cluster = any(fault.needs_redis_cluster for fault in faults)
    env = ChaosEnvironment(run_dir, users=timing.writers + 1, redis_cluster=on_cluster)
    with env:
        return asyncio.run(_run(env, timing, faults))


async def _run(env: ChaosEnvironment, timing: Timing, faults: Sequence[Fault]) -> list[Row]:
    assert env.stack is not None
    traffic = Traffic(env.stack.base_url)
    *writers, login_account = env.accounts
    tasks = [asyncio.create_task(traffic.writer(a, i)) for i, a in enumerate(writers)]
    tasks.append(asyncio.create_task(traffic.login_client(login_account, len(writers))))
    rows = []
    try:
        for fault in faults:
            rows.append(await _phase(env, traffic, fault, timing))
    finally:
        traffic.stopped.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rows


async def _phase(env: ChaosEnvironment, traffic: Traffic, fault: Fault, timing: Timing) -> Row:
    assert env.stack is not None
    await asyncio.sleep(timing.steady)
    pids_before = env.stack.worker_pids()
    injected = time.monotonic()
    await asyncio.to_thread(fault.inject, env)
    if fault.held:
        await asyncio.sleep(timing.outage)
    restoring = time.monotonic()
    await asyncio.to_thread(fault.restore, env)
    restored = time.monotonic()
    await asyncio.sleep(timing.observe)
    end = time.monotonic()
    await traffic.drain()  # every pending write acknowledged, every name read back
    stored = await env.names_in_database()
    lost = sum(stored[name] != ledger.acked for name, ledger in traffic.ledgers.items())
    stale = sum(traffic.read_back[name] != ledger.acked for name, ledger in traffic.ledgers.items())
    row = analyse(
        fault,
        traffic.samples,
        Window(injected=injected, restored=restored, restore_took=restored - restoring, end=end),
        lost_writes=lost,
        stale_reads=stale,
        workers_unchanged=env.stack.worker_pids() == pids_before,
    )
    traffic.resume()
    return row
