"""What every consumer does with one event, whatever the broker: skip it if this group has
handled it already (delivery is at least once), else run the handler, retrying with backoff,
and report the event dead after the last failed attempt. The broker's consumer then
acknowledges it, or moves it to its dead-letter destination first.

The handled ids live in Redis (`events:processed:{<group>}:<event_id>`, SET with a TTL): an
event is remembered once its handler returned. A consumer that dies between the two runs the
handler again for that one event, so effects outside Redis still want to be idempotent (an
upsert, a unique key); effects in Redis can join the marker in one MULTI (`remember_in`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.events.backoff import Backoff
from app.events.envelope import Envelope
from app.observability.metrics import (
    EVENTS_CONSUMED,
    EVENTS_CONSUMER_LAG,
    EVENTS_DEAD_LETTERED,
    EVENTS_HANDLER_RETRIES,
)
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

# The Redis keys of handled event ids, one hash-tagged prefix per group.
PROCESSED_KEY_PREFIX = "events:processed:"

Handler = Callable[[Envelope], Awaitable[None]]


class ProcessedIds:
    """The ids of events one consumer group has handled, each kept for `ttl_seconds`."""

    def __init__(self, redis: RedisClient, *, group: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._group = group
        self._ttl = ttl_seconds

    def key(self, event_id: str) -> str:
        return f"{PROCESSED_KEY_PREFIX}{{{self._group}}}:{event_id}"

    async def seen(self, event_id: str) -> bool:
        return bool(await self._redis.exists(self.key(event_id)))

    async def remember(self, event_id: str) -> None:
        await self._redis.set(self.key(event_id), "1", ex=self._ttl)

    def remember_in(self, pipe: Any, event_id: str) -> None:
        """Queue the marker on a handler's own MULTI pipeline, so effect and marker commit
        together (the handler then reports it with `Processed`)."""
        pipe.set(self.key(event_id), "1", ex=self._ttl)


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD = "dead_lettered"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    error: str = ""  # the last failure, for a dead letter


class EventProcessor:
    """Deduplicate, handle with retries, report dead; metrics labelled by broker and group."""

    def __init__(
        self,
        handler: Handler,
        *,
        processed: ProcessedIds,
        broker: str,
        group: str,
        max_attempts: int = 5,
        retry_first_seconds: float = 0.2,
        retry_max_seconds: float = 5.0,
    ) -> None:
        self._handler = handler
        self.processed = processed
        self.broker = broker
        self.group = group
        self._max_attempts = max_attempts
        self._retry_first = retry_first_seconds
        self._retry_max = retry_max_seconds

    async def process(self, event: Envelope) -> Result:
        """Raises only when the processed-ids store fails (Redis down): the caller then
        leaves the message unacknowledged, to be delivered again."""
        if await self.processed.seen(event.event_id):
            self.count(Outcome.DUPLICATE)
            return Result(Outcome.DUPLICATE)
        backoff = Backoff(first=self._retry_first, limit=self._retry_max)
        attempt = 1
        while True:
            try:
                await self._handler(event)
                break
            except Exception as exc:
                if attempt >= self._max_attempts:
                    logger.exception(
                        "handler failed %d times for event %s (%s): dead letter",
                        attempt,
                        event.event_id,
                        event.event_type,
                    )
                    return Result(Outcome.DEAD, f"{type(exc).__name__}: {exc}")
                EVENTS_HANDLER_RETRIES.labels(self.broker, self.group).inc()
                delay = backoff.next_delay()
                logger.warning(
                    "handler failed for event %s (attempt %d of %d): %s; retrying in %.1fs",
                    event.event_id,
                    attempt,
                    self._max_attempts,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1
        await self.processed.remember(event.event_id)
        lag = (datetime.now(UTC) - event.occurred_at).total_seconds()
        EVENTS_CONSUMER_LAG.labels(self.broker, self.group).set(max(lag, 0.0))
        self.count(Outcome.HANDLED)
        return Result(Outcome.HANDLED)

    def count(self, outcome: Outcome | str) -> None:
        EVENTS_CONSUMED.labels(self.broker, self.group, str(outcome)).inc()
        if outcome == Outcome.DEAD:
            EVENTS_DEAD_LETTERED.labels(self.broker, self.group).inc()


async def settle(
    processor: EventProcessor,
    body: bytes,
    *,
    parse: Callable[[bytes], Envelope],
    ack: Callable[[], Awaitable[object]],
    dead_letter: Callable[[str], Awaitable[object]],
    outages: tuple[type[BaseException], ...],
) -> None:
    """One delivery, start to finish: the broker consumers' common path. A malformed message
    and an event whose handler kept failing go to `dead_letter(reason)` and are acknowledged.
    While the processed-ids store is down the event is retried here, with backoff, rather than
    handed back: a message given back would come again behind later ones of its aggregate."""
    try:
        event = parse(body)
    except ValueError as exc:
        logger.error("malformed message to the dead letters: %s", exc)
        await dead_letter(f"malformed: {exc}")
        await ack()
        processor.count("malformed")
        return
    outage_backoff = Backoff()
    while True:
        try:
            result = await processor.process(event)
            break
        except outages as exc:
            delay = outage_backoff.next_delay()
            logger.warning("consumer: %s; handling again in %.1fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
    if result.outcome is Outcome.DEAD:
        await dead_letter(result.error)
        processor.count(Outcome.DEAD)
    await ack()
