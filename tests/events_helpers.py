"""Helpers for the domain-event tests: relays run as tasks or processes, stream reads, and
the advisory-lock holders as PostgreSQL sees them."""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from app.core.settings import Settings
from app.events.envelope import Envelope
from app.events.lifespan import build_relay, stop_outbox_relay
from app.events.relay import RELAY_LOCK_ID, OutboxRelay
from tests.services import ROOT, TestDatabase
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


def fast_relay(settings: Settings, redis: RedisClient) -> OutboxRelay:
    return build_relay(settings, redis, **FAST_RELAY)


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
    # Only what the relay needs: settings that other tests put in os.environ stay out.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENV_FILE": "",
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "DB_PGBOUNCER": str(settings.db_pgbouncer).lower(),
        "DATABASE_DIRECT_URL": settings.database_direct_url.get_secret_value(),
        "REDIS_URL": settings.redis_url.get_secret_value(),
        "REDIS_CLUSTER": str(settings.redis_cluster).lower(),
        "EVENTS_STREAM": settings.events_stream,
        "OUTBOX_POLL_INTERVAL_SECONDS": str(settings.outbox_poll_interval_seconds),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "relay-events"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
