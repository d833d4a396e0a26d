"""The `events` check of the benchmark: domain events on each broker, in the same run.

For every broker (redis, rabbitmq, nats, kafka; a private server under the run folder when none
answers at its local address, as `make local` does) a stack of its own is started on the run's
database and Redis index, with EVENTS_BROKER pointing at it (its relay runs in the lifespan, as
always), plus the benchmark's consumer (tools/bench/events_consumer.py: `consume-events`' loop
recording each event's receipt). Then:

1. **End-to-end latency**: open-loop `POST /setName` through nginx at 70 % of the capacity that
   the closed-loop setName case measured in this run; each event's latency runs from its
   `occurred_at` (the start of the /setName transaction that wrote it, PostgreSQL's clock on
   this machine) to its receipt by the consumer. Every event written during the run must
   arrive. Meanwhile the outbox's pending rows are counted every 10 ms: the largest count is
   held against one poll interval of events (OUTBOX_POLL_INTERVAL_SECONDS x the events/s).
2. **Relay throughput**: with the consumer stopped, RELAY_EVENTS rows are written to the outbox
   in one transaction (1,000 aggregates); events/s is their count over the time until none is
   pending. The relay claims 100 per batch (RelayConfig.batch_size).

Only the main stack is stopped first: its relay would hold the database's advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from app.core.settings import Settings
from app.events.outbox import BACKLOG_SQL
from tools.bench import openloop
from tools.bench.cases import EVENTS
from tools.bench.openloop import OpenLoopResult
from tools.bench.procs import cpu_seconds, cpus, host_busy_seconds, listening_pid
from tools.bench.results import Measurement
from tools.bench.stack import local_stack
from tools.devstack import processes, waiting
from tools.devstack.brokers import Broker, broker_for, remove_topology
from tools.devstack.servers import ServerError

BROKERS = ("redis", "rabbitmq", "nats", "kafka")
# Where the relay runs: in the API's lifespan (the template's default, sharing a worker's event
# loop with requests) or as `python -m app.cli relay-events`, a process of its own.
RELAYS = ("lifespan", "process")
LOAD = 0.7
RELAY_EVENTS = 5_000
SMOKE_RELAY_EVENTS = 300
RELAY_AGGREGATES = 1_000
GROUP = "bench"
SAMPLE_S = 0.01
ARRIVAL_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[2]
Log = Callable[[str], None]

INSERT_SQL = """
INSERT INTO outbox (event_type, aggregate_id, payload)
SELECT 'user.name_changed', g % $2,
       jsonb_build_object('user_id', g % $2, 'old_name', 'Bench', 'new_name', 'Bench ' || g)
  FROM generate_series(1, $1) AS g
"""
PENDING_SQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
WRITTEN_SQL = """
SELECT event_id::text, extract(epoch FROM published_at - occurred_at)::float8 * 1000
  FROM outbox
 WHERE event_type = 'user.name_changed'
   AND occurred_at BETWEEN to_timestamp($1) AND to_timestamp($2)
"""


def _quantile(values: list[float], q: float) -> float:
    return OpenLoopResult._quantile(sorted(values), q)


@dataclass
class EventsMeasurement:
    broker: str
    load: float
    relay: str
    capacity_rps: float
    poll_interval_s: float
    server: str = ""  # where the broker was: its address, or the private server started
    set_name: OpenLoopResult | None = None
    written: int = 0  # events /setName wrote during the open-loop run
    received: int = 0  # of those, received by the consumer
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    # occurred_at -> published_at: the relay's share of the latency (stamped after the broker
    # confirmed the batch).
    stamped_ms: list[float] = field(default_factory=list, repr=False)
    max_backlog: int = 0
    max_oldest_age_s: float = 0.0
    relay_events: int = 0
    relay_seconds: float = 0.0
    # During the open-loop run: CPU µs per event written, by part, and the host's busy share.
    cpu_us_per_event: dict[str, float] = field(default_factory=dict)
    host_busy: float = 0.0
    error: str | None = None

    @property
    def p50_ms(self) -> float:
        return _quantile(self.latencies_ms, 0.5)

    @property
    def p99_ms(self) -> float:
        return _quantile(self.latencies_ms, 0.99)

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    @property
    def events_per_s(self) -> float:
        """Events written per second during the open-loop run."""
        if self.set_name is None or not self.set_name.duration_s:
            return 0.0
        return self.written / self.set_name.duration_s

    @property
    def backlog_bound(self) -> float:
        """One poll interval of events at that load: the most the outbox may hold."""
        return self.poll_interval_s * self.events_per_s

    @property
    def relay_events_per_s(self) -> float:
        return self.relay_events / self.relay_seconds if self.relay_seconds else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "broker": self.broker,
            "relay": self.relay,
            "server": self.server,
            "load": self.load,
            "capacity_rps": round(self.capacity_rps, 1),
            "set_name": self.set_name.to_json() if self.set_name else None,
            "events_written": self.written,
            "events_received": self.received,
            "latency_p50_ms": round(self.p50_ms, 2),
            "latency_p99_ms": round(self.p99_ms, 2),
            "latency_max_ms": round(self.max_ms, 2),
            "stamped_p50_ms": round(_quantile(self.stamped_ms, 0.5), 2),
            "stamped_p99_ms": round(_quantile(self.stamped_ms, 0.99), 2),
            "poll_interval_s": self.poll_interval_s,
            "events_per_s": round(self.events_per_s, 1),
            "max_backlog": self.max_backlog,
            "backlog_bound": round(self.backlog_bound, 1),
            "max_oldest_pending_age_s": round(self.max_oldest_age_s, 3),
            "relay_events": self.relay_events,
            "relay_seconds": round(self.relay_seconds, 3),
            "relay_events_per_s": round(self.relay_events_per_s, 1),
            "cpu_us_per_event": {part: round(us) for part, us in self.cpu_us_per_event.items()},
            "host_busy": round(self.host_busy, 3),
            "error": self.error,
        }


def table(results: list[EventsMeasurement]) -> str:
    lines = [
        "| broker | relay | /setName rate (ok/s) | events written / received "
        "| latency p50 / p99 / max | of which until stamped p50 / p99 | max backlog (bound) "
        "| relay events/s (100 per batch) | CPU µs per event | host busy | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        rate = f"{m.set_name.rate:,.0f} ({m.set_name.ok_rps:,.0f})" if m.set_name else "-"
        latency = f"{m.p50_ms:.1f} / {m.p99_ms:.1f} / {m.max_ms:.1f} ms" if m.latencies_ms else "-"
        stamped = (
            f"{_quantile(m.stamped_ms, 0.5):.1f} / {_quantile(m.stamped_ms, 0.99):.1f} ms"
            if m.stamped_ms
            else "-"
        )
        backlog = f"{m.max_backlog} ({m.backlog_bound:.0f})"
        throughput = f"{m.relay_events_per_s:,.0f}" if m.relay_seconds else "-"
        cpu = ", ".join(f"{part} {us:,.0f}" for part, us in m.cpu_us_per_event.items()) or "-"
        lines.append(
            f"| {m.broker} | {m.relay} | {rate} | {m.written} / {m.received} | {latency} | "
            f"{stamped} | {backlog} | {throughput} | {cpu} | {m.host_busy:.0%} | "
            f"{m.error or m.server} |"
        )
    return "\n".join(lines)


class BacklogSampler:
    """Counts the outbox's pending rows every SAMPLE_S in a thread; keeps the largest."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.max_pending = 0
        self.max_age_s = 0.0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog-sampler", daemon=True)

    def __enter__(self) -> BacklogSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._sample())
        except Exception as exc:  # reported with the measurement
            self.error = exc

    async def _sample(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self._stop.is_set():
                row = await conn.fetchrow(BACKLOG_SQL)
                assert row is not None
                self.max_pending = max(self.max_pending, int(row["pending"]))
                self.max_age_s = max(self.max_age_s, float(row["oldest_age"]))
                await asyncio.sleep(SAMPLE_S)
        finally:
            await conn.close()


class CpuMeter:
    """CPU time of named processes, and of the whole host, between `start` and `stop`."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = {part: ids for part, ids in pids.items() if ids}
        self._before: dict[str, float] = {}
        self._host_before = self._wall_before = 0.0
        self.used: dict[str, float] = {}
        self.host_busy = 0.0

    def _now(self) -> dict[str, float]:
        return {
            part: sum(cpu_seconds(pid) or 0.0 for pid in ids) for part, ids in self.pids.items()
        }

    def start(self) -> None:
        self._before = self._now()
        self._host_before, self._wall_before = host_busy_seconds(), time.monotonic()

    def stop(self) -> None:
        after = self._now()
        self.used = {part: after[part] - self._before[part] for part in self.pids}
        wall = time.monotonic() - self._wall_before
        self.host_busy = (host_busy_seconds() - self._host_before) / (wall * cpus())

    def per_event_us(self, events: int) -> dict[str, float]:
        return {part: used / events * 1e6 for part, used in self.used.items()} if events else {}


def address_port(url: str) -> int | None:
    """The port of a broker or Redis address (`scheme://host:port/...` or `host:port`)."""
    netloc = url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    port = netloc.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None


def _pids_listening(url: str) -> list[int]:
    port = address_port(url)
    pid = listening_pid(port) if port is not None else None
    return [pid] if pid is not None else []


class Consumer:
    """tools/bench/events_consumer.py as a process; its lines are read back from `out`."""

    def __init__(self, env: dict[str, str], folder: Path, broker: str) -> None:
        self.out = folder / f"events-{broker}.txt"
        self.log = folder / f"events-consumer-{broker}.log"
        self.log.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "tools.bench.events_consumer", "--out", str(self.out)]
        self.out.unlink(missing_ok=True)
        self.process = processes.spawn([*argv, "--group", GROUP], env=env, cwd=ROOT, log=self.log)

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool | None:
            if self.log.exists() and "ready" in self.log.read_text().splitlines():
                return True
            if self.process.poll() is not None:
                raise RuntimeError(f"the consumer exited: {self.log.read_text()[-2000:]}")
            return None

        waiting.until(ready, timeout=timeout, interval=0.1, what="the events consumer")

    def received(self) -> dict[str, float]:
        """event id -> latency in ms, of every event received so far."""
        if not self.out.exists():
            return {}
        out = {}
        for line in self.out.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                out[parts[0]] = (float(parts[2]) - float(parts[1])) * 1000
        return out

    def stop(self) -> None:
        processes.stop(self.process, timeout=15)


def _broker(name: str, folder: Path) -> Broker:
    if name == "redis":
        return Broker("redis", "")
    url = Settings.model_validate({"events_broker": name}).broker_url
    return broker_for(name, url, folder=folder)


async def _written(dsn: str, start: float, end: float) -> dict[str, float | None]:
    """The events written between `start` and `end`: id -> ms until stamped published."""
    conn = await asyncpg.connect(dsn)
    try:
        return {row[0]: row[1] for row in await conn.fetch(WRITTEN_SQL, start, end)}
    finally:
        await conn.close()


async def _until_relayed(dsn: str, timeout_s: float = 300.0) -> None:
    """Until the outbox holds nothing pending (after the capacity probe's burst of events)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while await conn.fetchval(PENDING_SQL):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the relay did not catch up within {timeout_s:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    await asyncio.sleep(2.0)  # the consumer's share of the burst


async def _relay_throughput(dsn: str, count: int, timeout_s: float = 300.0) -> float:
    """Seconds from committing `count` outbox rows to none pending."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(INSERT_SQL, count, RELAY_AGGREGATES)
        started = time.perf_counter()
        while await conn.fetchval(PENDING_SQL):
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"the relay did not publish {count} events in {timeout_s:.0f} s")
            await asyncio.sleep(SAMPLE_S)
        return time.perf_counter() - started
    finally:
        await conn.close()


def measure(
    name: str,
    *,
    env: dict[str, str],
    folder: Path,
    tokens: Path,
    capacity: float,
    duration_s: float,
    relay_events: int,
    workers: int | None,
    log: Log,
    relay: str = "lifespan",
    capacity_probe: Callable[[str], float] | None = None,
) -> EventsMeasurement:
    """`capacity` is the run's closed-loop /setName capacity; `capacity_probe(base_url)`, when
    given, measures it again on this broker's stack with the relay and consumer running, and
    the open loop runs at LOAD of that (the pipeline shares the host's CPUs)."""
    default_poll = Settings.model_fields["outbox_poll_interval_seconds"].default
    poll = float(env.get("OUTBOX_POLL_INTERVAL_SECONDS", default_poll))
    m = EventsMeasurement(name, LOAD, relay, capacity, poll)
    dsn = env["DATABASE_URL"]
    stream = f"events:bench:{secrets.token_hex(4)}"
    try:
        broker = _broker(name, folder / "brokers")
    except (ServerError, TimeoutError, OSError) as exc:
        m.error = f"no {name} broker: {exc}"
        return m
    m.server = (
        f"private {broker.server.name}" if broker.server is not None else broker.url or "REDIS_URL"
    )
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(broker.stop)
        if broker.server is None:  # a private one goes whole; the Redis index is emptied
            cleanup.callback(
                lambda: asyncio.run(remove_topology(name, broker.url, stream, [GROUP]))
            )
        stack_env = {**env, "EVENTS_BROKER": name, "EVENTS_STREAM": stream, **broker.environment()}
        if relay == "process":
            stack_env["OUTBOX_RELAY_ENABLED"] = "false"
        run_dir = folder / f"stack-events-{name}-{relay}"
        stack = local_stack(env=stack_env, run_dir=run_dir, workers=workers)
        try:
            log(f"{EVENTS} on {name} ({m.server}), relay in {relay}: starting a stack")
            stack.start()
            cleanup.callback(stack.stop)
            if relay == "process":
                relay_env = {**os.environ, "ENV_FILE": "", **stack_env}
                relay_env["OUTBOX_RELAY_ENABLED"] = "true"
                relay_process = processes.spawn(
                    [sys.executable, "-m", "app.cli", "relay-events"],
                    env=relay_env,
                    cwd=ROOT,
                    log=folder / f"events-relay-{name}.log",
                )
                cleanup.callback(lambda: processes.stop(relay_process, timeout=15))
            consumer = Consumer({**os.environ, "ENV_FILE": "", **stack_env}, folder, name)
            cleanup.callback(consumer.stop)
            consumer.wait_ready()
            meter = CpuMeter(
                {
                    "api": stack.worker_pids(),
                    "relay": [relay_process.pid] if relay == "process" else [],
                    "broker": _pids_listening(broker.url) if name != "redis" else [],
                    "redis": _pids_listening(env.get("REDIS_URL", "")),
                    "consumer": [consumer.process.pid],
                    "load generator": [os.getpid()],  # this process: the open loop's client
                }
            )
            if capacity_probe is not None:
                m.capacity_rps = capacity_probe(stack.base_url)
                log(f"  closed-loop /setName with these events: {m.capacity_rps:,.0f} req/s")
                asyncio.run(_until_relayed(dsn))
            rate = LOAD * m.capacity_rps
            host = stack.base_url.split("//", 1)[1]
            requests = openloop.set_name_requests(tokens, host, tag=f" {stream[-8:]}")
            log(
                f"  /setName at {rate:,.0f} req/s ({LOAD:.0%} of {m.capacity_rps:,.0f}) "
                f"for {duration_s:.0f} s"
            )
            with BacklogSampler(dsn) as sampler:
                start = time.time()
                meter.start()
                m.set_name = openloop.run(
                    stack.base_url, requests, rate=rate, duration_s=duration_s
                )
                meter.stop()
                end = time.time()
                ids = set(asyncio.run(_written(dsn, start - 1, end + 1)))
                deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
                while not ids <= consumer.received().keys() and time.monotonic() < deadline:
                    time.sleep(0.2)
            written = asyncio.run(_written(dsn, start - 1, end + 1))  # now with published_at
            if sampler.error is not None:
                raise sampler.error
            received = consumer.received()
            m.written = len(written)
            m.latencies_ms = [received[i] for i in written if i in received]
            m.stamped_ms = [v for v in written.values() if v is not None]
            m.received = len(m.latencies_ms)
            m.max_backlog, m.max_oldest_age_s = sampler.max_pending, sampler.max_age_s
            m.cpu_us_per_event, m.host_busy = meter.per_event_us(m.written), meter.host_busy
            consumer.stop()
            log(
                f"  events {m.received} of {m.written}: p50 {m.p50_ms:.1f} ms p99 "
                f"{m.p99_ms:.1f} ms (stamped p99 {_quantile(m.stamped_ms, 0.99):.1f} ms); "
                f"max backlog {m.max_backlog} (one poll interval: "
                f"{m.backlog_bound:.0f}); host busy {m.host_busy:.0%}, CPU µs per event "
                + ", ".join(f"{part} {us:,.0f}" for part, us in m.cpu_us_per_event.items())
            )
            m.relay_events = relay_events
            m.relay_seconds = asyncio.run(_relay_throughput(dsn, relay_events))
            log(
                f"  relay: {relay_events} events in {m.relay_seconds:.2f} s = "
                f"{m.relay_events_per_s:,.0f} events/s"
            )
            if m.received < m.written:
                m.error = f"{m.written - m.received} events not received"
        except (OSError, RuntimeError, TimeoutError, asyncpg.PostgresError) as exc:
            m.error = f"{type(exc).__name__}: {exc}"[:500]
            log(f"  {name}: {m.error}")
    return m


def capacity_of(measurements: list[Measurement], case: str = "setName") -> float:
    """The best closed-loop 2xx throughput of `case` in this run (shed answers are not
    capacity), as the open-loop checks take it."""
    return max((m.ok_rps for m in measurements if m.case == case and m.runs), default=0.0)
