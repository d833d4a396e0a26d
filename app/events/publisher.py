"""Where the relay sends events: the `Publisher` protocol, and the Redis Stream publisher (the
default). RabbitMQ, Kafka and NATS publishers are in app/events/brokers.py; EVENTS_BROKER picks
one (app/events/lifespan.py:build_publisher). The outbox, the relay loop and its lock are the
same for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.events.envelope import Envelope
from constants import OUTBOX_PUBLISHED_KEY_PREFIX
from utils.redis.redis import RedisClient

# KEYS[1] the event's "published" marker, KEYS[2] the stream; ARGV: marker ttl, maxlen, then
# field/value pairs. Atomic, so a relay that crashes after this call but before PostgreSQL
# stamps the row re-sends the event on restart and the marker turns that into a no-op. XADD
# runs before SET: if XADD fails (e.g. the key holds another type), no marker hides the event.
PUBLISH_ONCE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return id
"""


class Publisher(Protocol):
    broker: str  # the metrics' `broker` label: redis, rabbitmq, kafka, nats

    async def open(self) -> None:
        """Connect, and declare what is published to; called when the relay starts leading."""

    async def close(self) -> None:
        """Disconnect; the relay opens the publisher again after any failure."""

    async def publish(self, events: Sequence[Envelope]) -> None:
        """Deliver every event at least once; raise if any may not have been delivered."""


def published_key(stream: str, event_id: str) -> str:
    """`outbox:published:{<stream>}:<event_id>`: the hash tag puts the marker in the stream's
    Redis Cluster slot (a stream name without braces hashes whole), as one script needs."""
    return f"{OUTBOX_PUBLISHED_KEY_PREFIX}{{{stream}}}:{event_id}"


class RedisStreamPublisher:
    broker = "redis"

    def __init__(
        self, redis: RedisClient, *, stream: str, maxlen: int, marker_ttl_seconds: int
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._maxlen = maxlen
        self._ttl = marker_ttl_seconds

    async def open(self) -> None:
        """Nothing to open: the relay uses the app's Redis client."""

    async def close(self) -> None:
        """The app's Redis client outlives the relay."""

    async def publish(self, events: Sequence[Envelope]) -> None:
        if not events:
            return
        # One round trip per batch; transaction=False because each script is atomic by itself.
        # EVAL, not EVALSHA: a cluster pipeline cannot load a script the node lacks (NOSCRIPT),
        # and Redis compiles the text once and caches it by its hash anyway. Every key of the
        # batch is in the stream's slot, so on a cluster the batch goes to one node.
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pairs = [part for item in event.to_fields().items() for part in item]
                marker = published_key(self._stream, event.event_id)
                pipe.eval(
                    PUBLISH_ONCE_LUA, 2, marker, self._stream, self._ttl, self._maxlen, *pairs
                )
            await pipe.execute()
