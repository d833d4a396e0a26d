"""Event faults under /setName load, per broker: the broker stopped (30 s; 10 s with --short)
and the relay killed mid-batch. The stack (nginx, gunicorn, throwaway PostgreSQL and Redis,
a private broker) runs the relay as its own process (`relay-events`, so it can be killed) and
the sample service tools/downstream/names.py as the consumer, whose effect per event is counted.

After each fault, with the writers paused, the checks:
  - the API kept answering: no /setName failed while the broker was down;
  - the outbox backlog drained (its peak and the time to drain are reported);
  - 0 lost: every user.name_changed in the outbox was applied by the consumer;
  - 0 double effects: none was applied twice (the consumer's per-event counter);
  - the consumer's copy of every name equals PostgreSQL's.

    rows = run_events_chaos("nats", EventsTiming.full(), Path("run/chaos-events"))
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from tools.chaos.environment import ChaosEnvironment
from tools.chaos.traffic import Traffic
from tools.devstack import processes
from tools.devstack.brokers import BrokerServer, new_server
from tools.devstack.nginx import ROOT
from tools.downstream.names import effects_key, names_key

GROUP = "chaos"
CATCH_UP_TIMEOUT = 90.0  # for the backlog to drain and the consumer to apply everything
# Tansu (the Kafka broker here) keeps messages in memory: a restart loses the topic, so the
# broker-stopped fault runs where a restart keeps them (a real Kafka would too).
BROKER_RESTART_KEEPS_MESSAGES = {"rabbitmq": True, "nats": True, "kafka": False}


@dataclass(frozen=True)
class EventsTiming:
    writers: int
    steady: float
    outage: float
    observe: float

    @classmethod
    def full(cls) -> EventsTiming:
        return cls(writers=8, steady=3.0, outage=30.0, observe=3.0)

    @classmethod
    def short(cls) -> EventsTiming:
        return cls(writers=6, steady=1.0, outage=10.0, observe=2.0)


@dataclass
class EventsRow:
    broker: str
    fault: str
    set_name_sent: int = 0
    set_name_failed: int = 0
    peak_backlog: int = 0
    peak_oldest_age: float = 0.0
    drained_after: float = 0.0  # seconds from the fault's end until the outbox was empty
    events: int = 0  # user.name_changed rows in the outbox
    applied: int = 0  # distinct events the consumer applied
    lost: int = 0
    doubled: int = 0
    names_differ: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "passed": self.passed}


def run_events_chaos(broker: str, timing: EventsTiming, run_dir: Path) -> list[EventsRow]:
    run_dir.mkdir(parents=True, exist_ok=True)
    server = None if broker == "redis" else new_server(broker, run_dir / "broker")
    if server is not None:
        server.start()
    try:
        env = ChaosEnvironment(
            run_dir / "stack",
            users=timing.writers,
            extra_env={
                **_broker_env(broker, server),
                "OUTBOX_RELAY_ENABLED": "false",  # the relay is a process of its own here
                "OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
            },
        )
        with env:
            return asyncio.run(_run(broker, server, env, timing, run_dir))
    finally:
        if server is not None:
            server.destroy()


def _broker_env(broker: str, server: BrokerServer | None) -> dict[str, str]:
    env = {"EVENTS_BROKER": broker}
    if server is not None:
        env["EVENTS_BROKER_URL"] = server.url
    if broker == "kafka":
        env["EVENTS_KAFKA_IDEMPOTENCE"] = "false"  # Tansu has no InitProducerId
    return env


class Processes:
    """The relay and the consuming service, as the stack's own processes."""

    def __init__(self, env: ChaosEnvironment, broker_env: dict[str, str], run_dir: Path) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "ENV_FILE": "",
            "DATABASE_URL": env.database_url,
            "REDIS_URL": env.redis.url,
            "LOG_LEVEL": "WARNING",
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
            **broker_env,
        }
        self.run_dir = run_dir
        self.relay: subprocess.Popen[bytes] | None = None
        self.consumer: subprocess.Popen[bytes] | None = None

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return processes.spawn(
            [sys.executable, *args],
            env=self.env,
            cwd=ROOT,
            log=self.run_dir / f"{name}.log",
            die_with_parent=signal.SIGKILL,
        )

    def start_relay(self) -> None:
        self.relay = self._spawn("relay", "-m", "app.cli", "relay-events")

    def start_consumer(self) -> None:
        self.consumer = self._spawn("names", "-m", "tools.downstream.names", "--group", GROUP)

    def stop(self) -> None:
        for proc in (self.relay, self.consumer):
            if proc is not None and proc.poll() is None:
                processes.stop(proc, timeout=10)


async def _run(
    broker: str,
    server: BrokerServer | None,
    env: ChaosEnvironment,
    timing: EventsTiming,
    run_dir: Path,
) -> list[EventsRow]:
    assert env.stack is not None
    procs = Processes(env, _broker_env(broker, server), run_dir)
    redis = aioredis.from_url(env.redis.url, decode_responses=True)
    traffic = Traffic(env.stack.base_url)
    tasks: list[asyncio.Task[None]] = []
    rows = []
    try:
        procs.start_consumer()
        await asyncio.sleep(5.0)  # its group exists (RabbitMQ keeps only what a queue gets)
        procs.start_relay()
        tasks = [asyncio.create_task(traffic.writer(a, i)) for i, a in enumerate(env.accounts)]
        if server is not None and BROKER_RESTART_KEEPS_MESSAGES.get(broker, False):

            async def broker_down() -> None:
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(timing.outage)
                await asyncio.to_thread(server.start)

            rows.append(
                await _phase(broker, "broker stopped", broker_down, env, redis, traffic, timing)
            )

        async def relay_killed() -> None:
            relay = procs.relay
            assert relay is not None
            relay.send_signal(signal.SIGSTOP)  # a backlog builds up meanwhile
            await asyncio.sleep(2.0)
            relay.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.03)  # it is draining: kill it mid-batch
            relay.kill()
            relay.wait(10)
            procs.start_relay()

        rows.append(
            await _phase(
                broker, "relay killed mid-batch", relay_killed, env, redis, traffic, timing
            )
        )
    finally:
        traffic.stopped.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        procs.stop()
        await redis.aclose()
    return rows


async def _phase(
    broker: str,
    fault: str,
    inject: Callable[[], Awaitable[None]],
    env: ChaosEnvironment,
    redis: aioredis.Redis,
    traffic: Traffic,
    timing: EventsTiming,
) -> EventsRow:
    row = EventsRow(broker, fault)
    await asyncio.sleep(timing.steady)
    started = time.monotonic()
    watching = asyncio.create_task(_watch_backlog(env, row))
    await inject()
    restored = time.monotonic()
    await asyncio.sleep(timing.observe)
    writes = [s for s in traffic.samples if s.kind == "setName" and s.ended >= started]
    row.set_name_sent = len(writes)
    row.set_name_failed = sum(not s.ok for s in writes)
    await traffic.drain()
    try:
        async with asyncio.timeout(CATCH_UP_TIMEOUT):
            await _until(lambda: _backlog_empty(env))
            row.drained_after = time.monotonic() - restored
            await _until(lambda: _caught_up(env, redis))
    except TimeoutError:
        row.violations.append(f"not caught up {CATCH_UP_TIMEOUT:.0f} s after the fault")
    finally:
        watching.cancel()
    await _count(env, redis, row)
    if row.set_name_failed:
        row.violations.append(f"{row.set_name_failed} /setName failed during the fault")
    if row.lost:
        row.violations.append(f"{row.lost} events lost")
    if row.doubled:
        row.violations.append(f"{row.doubled} events applied twice")
    if row.names_differ:
        row.violations.append(f"{row.names_differ} names differ from PostgreSQL's")
    traffic.resume()
    return row


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    while not await check():  # noqa: ASYNC110 (polls PostgreSQL and Redis)
        await asyncio.sleep(0.2)


async def _fetch(env: ChaosEnvironment, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(env.postgres.url, timeout=5)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _watch_backlog(env: ChaosEnvironment, row: EventsRow) -> None:
    sql = (
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(occurred_at)), 0) AS age"
        " FROM outbox WHERE published_at IS NULL"
    )
    while True:
        [sample] = await _fetch(env, sql)
        row.peak_backlog = max(row.peak_backlog, int(sample["n"]))
        row.peak_oldest_age = max(row.peak_oldest_age, round(float(sample["age"]), 1))
        await asyncio.sleep(0.5)


async def _backlog_empty(env: ChaosEnvironment) -> bool:
    [sample] = await _fetch(env, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(sample["n"]) == 0


async def _event_ids(env: ChaosEnvironment) -> set[str]:
    sql = "SELECT event_id::text AS id FROM outbox WHERE event_type = 'user.name_changed'"
    return {row["id"] for row in await _fetch(env, sql)}


async def _caught_up(env: ChaosEnvironment, redis: aioredis.Redis) -> bool:
    applied = await redis.hkeys(effects_key(GROUP))
    return await _event_ids(env) <= set(applied)


async def _count(env: ChaosEnvironment, redis: aioredis.Redis, row: EventsRow) -> None:
    events = await _event_ids(env)
    effects = {key: int(value) for key, value in (await redis.hgetall(effects_key(GROUP))).items()}
    row.events = len(events)
    row.applied = len(effects)
    row.lost = len(events - effects.keys())
    row.doubled = sum(count > 1 for count in effects.values())
    copies = await redis.hgetall(names_key(GROUP))
    users = await _fetch(env, "SELECT id::text AS id, name FROM users")
    row.names_differ = sum(
        copies.get(user["id"]) != user["name"] for user in users if user["name"] != "initial"
    )


def table(rows: list[EventsRow]) -> str:
    header = (
        "broker    fault                   setName sent/failed  backlog peak  oldest  drained"
        "  events  applied  lost  doubled  result"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"{r.broker:<9} {r.fault:<23} {r.set_name_sent:>7}/{r.set_name_failed:<6}"
            f"  {r.peak_backlog:>12}  {r.peak_oldest_age:>5.1f}s  {r.drained_after:>6.1f}s"
            f"  {r.events:>6}  {r.applied:>7}  {r.lost:>4}  {r.doubled:>7}"
            f"  {'ok' if r.passed else '; '.join(r.violations)}"
        )
    return "\n".join(lines)
