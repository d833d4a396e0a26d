"""A background loop on a dedicated PostgreSQL connection that LISTENs to a channel: it works
through its queue table at connect, on every notification, and every `poll_seconds` (a
notification sent while it was reconnecting is not lost: the queue is in a table). Any failure
drops the connection, backs off and starts over; the loop ends only when cancelled.

The connection goes to PostgreSQL itself (DATABASE_DIRECT_URL behind PgBouncer, whose
transaction mode cannot LISTEN), one per worker for each loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import asyncpg

from app.core.outages import POSTGRES_UNAVAILABLE, REDIS_UNAVAILABLE
from app.core.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListenConfig:
    dsn: str = field(repr=False)  # carries the database password
    application_name: str
    connect_timeout_seconds: float
    poll_seconds: float
    backoff_first_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, *, suffix: str, poll_seconds: float) -> ListenConfig:
        return cls(
            dsn=settings.relay_database_url,
            application_name=f"{settings.db_application_name}-{suffix}",
            connect_timeout_seconds=settings.db_connect_timeout,
            poll_seconds=poll_seconds,
        )


class ListeningWorker(ABC):
    channel: str

    def __init__(self, config: ListenConfig) -> None:
        self._config = config
        self._wake = asyncio.Event()
        self._failures = 0

    @abstractmethod
    async def work(self, conn: asyncpg.Connection) -> None:
        """Work through what is due; called at connect, on notification and on each poll."""

    async def run(self) -> None:
        while True:
            try:
                await self._attempt()
            except Exception as exc:  # survive anything; the cause is logged
                delay = self._next_delay()
                if isinstance(exc, POSTGRES_UNAVAILABLE + REDIS_UNAVAILABLE):
                    logger.warning("%s: %s; retrying in %.1fs", self.channel, exc, delay)
                elif isinstance(exc, asyncpg.UndefinedTableError):  # migrations not run yet
                    logger.warning("%s: %s (migrate); retrying in %.1fs", self.channel, exc, delay)
                else:
                    logger.exception("%s failed; retrying in %.1fs", self.channel, delay)
                await asyncio.sleep(delay)

    def _next_delay(self) -> float:
        self._failures += 1
        base = self._config.backoff_first_seconds * float(2 ** min(self._failures - 1, 16))
        delay = min(base, self._config.backoff_max_seconds)
        jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 (not cryptography)
        return delay * jitter

    async def _attempt(self) -> None:
        conn = await asyncpg.connect(
            self._config.dsn,
            timeout=self._config.connect_timeout_seconds,
            server_settings={
                "application_name": self._config.application_name,
                "idle_in_transaction_session_timeout": "60000",
            },
        )
        try:
            await conn.add_listener(self.channel, self._on_notify)
            while True:
                self._wake.clear()  # before working: a notification arriving meanwhile is kept
                await self.work(conn)
                self._failures = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)
        finally:
            # Nothing to hand over (no lock, LISTEN ends with the session): a short polite
            # close, so the app's shutdown never waits on it.
            try:
                await conn.close(timeout=0.5)
            except asyncio.CancelledError:
                conn.terminate()
                raise
            except Exception:  # dead or slow: drop it
                conn.terminate()

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._wake.set()
