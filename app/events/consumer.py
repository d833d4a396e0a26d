"""An example consumer for other services: a consumer group reads the stream, a handler
processes each event, and only a handled event is acknowledged. Messages a crashed consumer
left unacknowledged are claimed (XAUTOCLAIM) once idle for `claim_idle_ms` and handled again,
so handlers must be idempotent (deduplicate on `event_id`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ResponseError

from app.core.outages import REDIS_UNAVAILABLE
from app.events.backoff import Backoff
from app.events.envelope import Envelope, MalformedEvent
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[None]]
Entry = tuple[str, dict[str, str]]
# ResponseError covers NOGROUP after a Redis restart without persistence: run() recreates it.
RETRYABLE: tuple[type[Exception], ...] = (*REDIS_UNAVAILABLE, ResponseError)


class EventConsumer:
    def __init__(
        self,
        redis: RedisClient,
        *,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        batch: int = 32,
        claim_idle_ms: int = 60_000,
        claim_every_seconds: float = 30.0,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._handler = handler
        self._batch = batch
        self._claim_idle_ms = claim_idle_ms
        self._claim_every = claim_every_seconds
        self._next_claim = 0.0

    async def ensure_group(self) -> None:
        """Create the group at the stream's start ("0"): a new service also reads the backlog."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, *, block_ms: int = 5_000) -> None:
        """Consume until cancelled. The client's socket timeout must exceed block_ms."""
        backoff = Backoff()
        while True:
            try:
                await self.ensure_group()
                while True:
                    await self.poll(block_ms)
                    backoff.reset()
            except RETRYABLE as exc:
                delay = backoff.next_delay()
                logger.warning("consumer: %s; retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def poll(self, block_ms: int) -> int:
        """Claim stale messages when due, then read and handle new ones; return how many."""
        handled = 0
        if time.monotonic() >= self._next_claim:
            handled += await self.claim_stale()
            self._next_claim = time.monotonic() + self._claim_every
        reply: Any = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: ">"}, count=self._batch, block=block_ms
        )
        for _stream, entries in reply or []:
            handled += await self._handle_all(entries)
        return handled

    async def claim_stale(self) -> int:
        """Take over every message pending longer than claim_idle_ms and handle it."""
        handled, cursor = 0, "0-0"
        while True:
            reply: Any = await self._redis.xautoclaim(
                self._stream,
                self._group,
                self._consumer,
                min_idle_time=self._claim_idle_ms,
                start_id=cursor,
                count=self._batch,
            )
            cursor, entries = reply[0], reply[1]
            handled += await self._handle_all(entries)
            if cursor == "0-0":
                return handled

    async def _handle_all(self, entries: list[Entry]) -> int:
        handled = 0
        for message_id, fields in entries:
            if await self._handle(message_id, fields):
                await self._redis.xack(self._stream, self._group, message_id)
                handled += 1
        return handled

    async def _handle(self, message_id: str, fields: dict[str, str]) -> bool:
        """True when the message is done with (handled, or unreadable and never will be)."""
        try:
            event = Envelope.from_fields(fields)
        except MalformedEvent as exc:
            logger.error("dropping malformed stream entry %s: %s", message_id, exc)
            return True
        try:
            await self._handler(event)
        except Exception:  # left pending: claimed and retried after claim_idle_ms
            logger.exception("handler failed for %s (event %s)", message_id, event.event_id)
            return False
        return True
