"""The Redis Streams consumer: a consumer group reads the stream, an `EventProcessor` handles
each event (skipping ids the group has handled, retrying with backoff), and only then is it
acknowledged. An event whose handler kept failing is copied to the dead-letter stream
`<stream>:deadletter:<group>` and acknowledged. Messages a crashed consumer left
unacknowledged are claimed (XAUTOCLAIM) once idle for `claim_idle_ms` and handled again; one
delivered more than `max_deliveries` times (it crashes every consumer that takes it) goes to
the dead letters unhandled. The other brokers' consumers are in app/events/consumers.py."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import ResponseError

from app.core.outages import REDIS_UNAVAILABLE
from app.events.backoff import Backoff
from app.events.envelope import Envelope, MalformedEvent
from app.events.processing import EventProcessor, Handler, Outcome, ProcessedIds
from app.events.topology import Topology
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

__all__ = ["EventConsumer", "Handler"]
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
        max_attempts: int = 5,
        max_deliveries: int = 5,
        processed_ttl_seconds: int = 7 * 24 * 3600,
        retry_first_seconds: float = 0.2,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._batch = batch
        self._claim_idle_ms = claim_idle_ms
        self._claim_every = claim_every_seconds
        self._max_deliveries = max_deliveries
        self._next_claim = 0.0
        self.dead_letters = Topology(stream).redis_dead_letters(group)
        self.processor = EventProcessor(
            handler,
            processed=ProcessedIds(redis, group=group, ttl_seconds=processed_ttl_seconds),
            broker="redis",
            group=group,
            max_attempts=max_attempts,
            retry_first_seconds=retry_first_seconds,
        )

    async def ensure_group(self) -> None:
        """Create the group at the stream's start ("0"): a new service also reads the backlog."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, *, block_ms: int = 5_000, ready: asyncio.Event | None = None) -> None:
        """Consume until cancelled. The client's socket timeout must exceed block_ms. `ready`
        is set once the group exists (Redis unreachable at first: once it answers)."""
        backoff = Backoff()
        while True:
            try:
                await self.ensure_group()
                if ready is not None:
                    ready.set()
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
            live = []
            for message_id, fields in entries:
                if fields is None:  # trimmed by MAXLEN meanwhile: nothing left to handle
                    await self._redis.xack(self._stream, self._group, message_id)
                elif await self._deliveries(message_id) > self._max_deliveries:
                    await self._dead_letter(message_id, fields, "delivered too often")
                else:
                    live.append((message_id, fields))
            handled += await self._handle_all(live)
            if cursor == "0-0":
                return handled

    async def _deliveries(self, message_id: str) -> int:
        pending: Any = await self._redis.xpending_range(
            self._stream, self._group, min=message_id, max=message_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 0

    async def _handle_all(self, entries: list[Entry]) -> int:
        """Handle in order; a handled, duplicate or dead-lettered message is acknowledged."""
        handled = 0
        for message_id, fields in entries:
            try:
                event = Envelope.from_fields(fields)
            except MalformedEvent as exc:
                logger.error("malformed stream entry %s: %s", message_id, exc)
                await self._dead_letter(message_id, fields, f"malformed: {exc}")
                continue
            result = await self.processor.process(event)
            if result.outcome is Outcome.DEAD:
                await self._dead_letter(message_id, fields, result.error)
                continue
            await self._redis.xack(self._stream, self._group, message_id)
            handled += result.outcome is Outcome.HANDLED
        return handled

    async def _dead_letter(self, message_id: str, fields: dict[str, str], reason: str) -> None:
        """Copy the entry to the dead-letter stream, then acknowledge it (a crash in between
        leaves two copies, never none)."""
        entry = {**fields, "dead_letter_reason": reason, "dead_letter_source_id": message_id}
        await self._redis.xadd(self.dead_letters, entry)  # type: ignore[arg-type]
        await self._redis.xack(self._stream, self._group, message_id)
        self.processor.count(Outcome.DEAD if not reason.startswith("malformed") else "malformed")
