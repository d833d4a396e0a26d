"""The outbox relay: one active instance moves committed outbox rows to the publisher.

Leadership is a session-level advisory lock on a dedicated connection (not from the pool), so
it lives exactly as long as that connection: a relay that dies, or whose connection drops,
releases it and a standby takes over within `lock_retry_seconds`. The leader opens its
publisher (EVENTS_BROKER's connection). Any failure (PostgreSQL, Redis or the broker down,
unexpected errors) closes both, backs off and starts over: the relay never ends on its own,
only by cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final

import asyncpg

from app.core.outages import POSTGRES_UNAVAILABLE, REDIS_UNAVAILABLE
from app.events.backoff import Backoff
from app.events.brokers import BROKER_UNAVAILABLE
from app.events.config import RelayConfig
from app.events.outbox import backlog, claim_pending, mark_published, prune_published
from app.events.publisher import Publisher
from app.observability.metrics import (
    EVENTS_PUBLISH_DURATION,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
)

logger = logging.getLogger(__name__)

# Any bigint no other code in this database locks: the ASCII bytes of "outbox".
RELAY_LOCK_ID: Final = 122_550_254_464_888
NOTIFY_CHANNEL: Final = "outbox"  # init.sql's outbox_notify trigger
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock($1)"
UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
BACKLOG_SAMPLE_SECONDS: Final = 1.0


class OutboxRelay:
    def __init__(self, config: RelayConfig, publisher: Publisher) -> None:
        self._config = config
        self._publisher = publisher
        self._wake = asyncio.Event()
        self._backoff = Backoff(
            first=config.backoff_first_seconds, limit=config.backoff_max_seconds
        )
        self.is_leader = False

    async def run(self) -> None:
        """Relay until cancelled."""
        while True:
            try:
                await self._attempt()
                delay = self._config.lock_retry_seconds
            except Exception as exc:  # survive anything; the cause is logged
                delay = self._backoff.next_delay()
                if isinstance(exc, POSTGRES_UNAVAILABLE + REDIS_UNAVAILABLE + BROKER_UNAVAILABLE):
                    logger.warning("outbox relay: %s; retrying in %.1fs", _describe(exc), delay)
                else:
                    logger.exception("outbox relay failed; retrying in %.1fs", delay)
            await asyncio.sleep(delay)

    async def _attempt(self) -> None:
        """Connect and take the lock; when it is ours, relay until something fails."""
        conn = await asyncpg.connect(
            self._config.dsn,
            timeout=self._config.connect_timeout_seconds,
            server_settings={
                "application_name": self._config.application_name,
                # A relay stuck mid-batch loses its session, and with it the lock.
                "idle_in_transaction_session_timeout": "30000",
            },
        )
        try:
            if not await conn.fetchval(TRY_LOCK_SQL, RELAY_LOCK_ID):
                self._backoff.reset()
                return
            self.is_leader = True
            logger.info(
                "outbox relay: this process is the active relay (%s)", self._publisher.broker
            )
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._publisher.open()
            await self._relay(conn)
        finally:
            was_leader, self.is_leader = self.is_leader, False
            if was_leader:
                await _close_publisher(self._publisher)
            await _close(conn, unlock=was_leader)

    async def _relay(self, conn: asyncpg.Connection) -> None:
        next_prune = next_sample = 0.0
        while True:
            self._wake.clear()  # before draining: a NOTIFY arriving meanwhile is kept
            if time.monotonic() >= next_sample:
                # Before draining: a publisher that keeps failing still shows its backlog.
                await self._sample_backlog(conn)
                next_sample = time.monotonic() + BACKLOG_SAMPLE_SECONDS
            await self.drain(conn)
            if time.monotonic() >= next_prune:
                await self._prune(conn)
                next_prune = time.monotonic() + self._config.prune_every_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.poll_interval_seconds)

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Publish pending rows batch by batch until none are left; return how many."""
        total = 0
        while True:
            # Publish, then stamp, in one transaction: a crash in between leaves the rows
            # pending, and the publisher's idempotence absorbs the second send.
            async with conn.transaction():
                ids, events = await claim_pending(conn, self._config.batch_size)
                if events:
                    started = time.perf_counter()
                    await self._publisher.publish(events)
                    EVENTS_PUBLISH_DURATION.labels(self._publisher.broker).observe(
                        time.perf_counter() - started
                    )
                await mark_published(conn, ids)
            self._backoff.reset()
            OUTBOX_PUBLISHED.inc(len(ids))
            total += len(ids)
            if len(ids) < self._config.batch_size:
                return total

    async def _sample_backlog(self, conn: asyncpg.Connection) -> None:
        pending, oldest_age = await backlog(conn)
        OUTBOX_BACKLOG.set(pending)
        OUTBOX_OLDEST_AGE.set(oldest_age)

    async def _prune(self, conn: asyncpg.Connection) -> None:
        config = self._config
        while True:
            deleted = await prune_published(
                conn, older_than_seconds=config.prune_after_seconds, limit=config.prune_batch
            )
            if deleted < config.prune_batch:
                return

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._wake.set()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _close_publisher(publisher: Publisher) -> None:
    try:
        await asyncio.wait_for(publisher.close(), timeout=5)
    except Exception as exc:  # a broker that is gone cannot be left politely
        logger.warning("outbox relay: closing the publisher: %s", _describe(exc))


async def _close(conn: asyncpg.Connection, *, unlock: bool) -> None:
    try:
        if unlock:
            # Released now, not when the server notices the closed session: a standby relay
            # can take over at once (the close alone releases it a moment later).
            await asyncio.wait_for(conn.fetchval(UNLOCK_SQL, RELAY_LOCK_ID), timeout=1)
        await asyncio.wait_for(conn.close(), timeout=2)
    except Exception:  # a dead connection cannot close politely; dropping it is enough
        conn.terminate()
