"""Publishers for RabbitMQ, Kafka and NATS JetStream, through FastStream's brokers.

Each returns from `publish` only once the broker has confirmed every event (RabbitMQ publisher
confirms, Kafka acks=all, a JetStream PubAck), so the relay stamps only what is stored. Events
of one aggregate go out one after another in outbox order; different aggregates in parallel.
A publisher connects in `open` (declaring what it publishes to) and is opened again after any
failure: the relay closes it with its PostgreSQL connection and starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import aiormq
import aiormq.exceptions
import nats.errors
import nats.js.errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiormq import spec
from faststream.kafka import KafkaBroker
from faststream.nats import NatsBroker
from faststream.rabbit import ExchangeType, RabbitExchange

from app.events.envelope import Envelope
from app.events.topology import Topology

logger = logging.getLogger(__name__)
# FastStream logs each message it handles; at DEBUG, so INFO logs stay one line per event.
FASTSTREAM_LOGGER = logging.getLogger("app.events.faststream")
QUIET = logging.DEBUG

# What a broker that is down or restarting raises: the relay and the consumers log a warning
# and retry with backoff (anything else is logged with its traceback).
BROKER_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    aiormq.exceptions.AMQPError,
    KafkaError,
    nats.errors.Error,
    nats.js.errors.Error,
)

# JetStream drops a second message with the same Nats-Msg-Id within this window: it must
# outlive a relay's crash and restart (the Redis marker's TTL plays the same part).
NATS_DUPLICATE_WINDOW_SECONDS = 3_600.0

BrokerT = TypeVar("BrokerT", KafkaBroker, NatsBroker)


async def publish_in_order(
    events: Sequence[Envelope], send: Callable[[Envelope], Awaitable[object]]
) -> None:
    """`send` each event, awaiting each before the next of its aggregate; aggregates in
    parallel. Raises the first failure (the relay then stamps nothing of the batch)."""
    by_aggregate: dict[int, list[Envelope]] = defaultdict(list)
    for event in events:
        by_aggregate[event.aggregate_id].append(event)

    async def send_all(sequence: list[Envelope]) -> None:
        for event in sequence:
            await send(event)

    async with asyncio.TaskGroup() as group:
        for sequence in by_aggregate.values():
            group.create_task(send_all(sequence))


class RabbitPublisher:
    """A durable topic exchange; persistent messages with `message_id` = event id and routing
    key `<event_type>.<aggregate_id>`, awaited until the broker confirms each one. Written
    on aiormq (the AMQP client under FastStream and aio-pika) for `BatchConnection` and
    `send_without_drain`."""

    broker = "rabbitmq"

    def __init__(self, url: str, topology: Topology, *, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._topology = topology
        self._timeout = timeout_seconds
        self._connection: BatchConnection | None = None
        self._channel: aiormq.Channel | None = None

    async def open(self) -> None:
        self._connection = BatchConnection(self._url)
        async with asyncio.timeout(self._timeout):
            await self._connection.connect()
            channel = await self._connection.channel(publisher_confirms=True)
            assert isinstance(channel, aiormq.Channel)  # the one with basic_publish(wait=...)
            exchange = events_exchange(self._topology)
            await channel.exchange_declare(
                exchange.name, exchange_type=exchange.type.value, durable=exchange.durable
            )
        self._channel = channel

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            await connection.close()

    async def publish(self, events: Sequence[Envelope]) -> None:
        channel = self._channel
        assert channel is not None, "open() first"

        async def send(event: Envelope) -> None:
            await send_without_drain(
                channel,
                event.to_body(),
                exchange=self._topology.exchange,
                routing_key=self._topology.routing_key(event),
                properties=spec.Basic.Properties(
                    message_id=event.event_id,
                    message_type=event.event_type,
                    headers=event.headers(),  # type: ignore[arg-type]
                    content_type="application/json",
                    delivery_mode=PERSISTENT,
                ),
            )

        async with asyncio.timeout(self._timeout):
            await publish_in_order(events, send)


class BatchConnection(aiormq.Connection):
    """aiormq's connection with room in its write queue for a whole batch: with its default of
    10 frames, the publishes of a batch past the tenth wait on the channel's lock one
    event-loop turn each (docs/benchmark.md, "Consumer lanes and batched RabbitMQ publishes")."""

    FRAME_BUFFER_SIZE = 1_024


PERSISTENT = 2  # AMQP delivery mode: written to disk before the broker confirms


async def send_without_drain(
    channel: aiormq.Channel,
    body: bytes,
    *,
    exchange: str,
    routing_key: str,
    properties: spec.Basic.Properties,
) -> None:
    """Publish and wait for the broker's confirm, but not for the socket to drain: aiormq
    otherwise awaits the drain while it holds the channel's lock, so concurrent publishes take
    three event-loop turns each instead of one, and a relay in a busy API worker falls behind
    (docs/benchmark.md, "Consumer lanes and batched RabbitMQ publishes")."""
    # No queue bound yet (no consumer group declared) drops the message, as a topic exchange
    # does: mandatory would make the broker return it as an error.
    await channel.basic_publish(
        body,
        exchange=exchange,
        routing_key=routing_key,
        properties=properties,
        mandatory=False,
        wait=False,
    )


def events_exchange(topology: Topology) -> RabbitExchange:
    """The events' exchange, as the publisher and the consumers declare it and AsyncAPI
    documents it."""
    return RabbitExchange(topology.exchange, type=ExchangeType.TOPIC, durable=True)


class FastStreamPublisher(Generic[BrokerT]):
    """What the Kafka and NATS publishers share: a FastStream broker made and connected by
    `open` (then `_prepare` declares what it publishes to), stopped by `close`."""

    broker: str

    def __init__(self, url: str, topology: Topology, *, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._topology = topology
        self._timeout = timeout_seconds
        self._broker: BrokerT | None = None

    def _new_broker(self) -> BrokerT:
        raise NotImplementedError

    async def _prepare(self, connection: Any) -> None:
        raise NotImplementedError

    async def open(self) -> None:
        self._broker = self._new_broker()  # before connecting: close() stops a half-open one
        await self._prepare(await self._broker.connect())

    async def close(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.stop()

    def _connected(self) -> BrokerT:
        assert self._broker is not None, "open() first"
        return self._broker


class KafkaPublisher(FastStreamPublisher[KafkaBroker]):
    """Topic `events.users`, key = aggregate id (one user's events in one partition, in
    order), acks=all, the idempotent producer where the broker has it."""

    broker = "kafka"

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        partitions: int,
        idempotence: bool,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(url, topology, timeout_seconds=timeout_seconds)
        self._partitions = partitions
        self._idempotence = idempotence

    def _new_broker(self) -> KafkaBroker:
        return KafkaBroker(
            self._url,
            acks="all",
            enable_idempotence=self._idempotence,
            request_timeout_ms=int(self._timeout * 1000),
            graceful_timeout=None,
            logger=FASTSTREAM_LOGGER,
            log_level=QUIET,
        )

    async def _prepare(self, connection: Any) -> None:
        await ensure_kafka_topic(self._url, self._topology.topic, self._partitions)

    async def publish(self, events: Sequence[Envelope]) -> None:
        broker = self._connected()
        async with asyncio.timeout(self._timeout):
            # The producer keeps each partition's records in send order; all are in flight at
            # once and the batch returns when every one is acknowledged.
            pending: list[Any] = [
                await broker.publish(
                    event.to_body(),
                    self._topology.topic,
                    key=str(event.aggregate_id).encode(),
                    headers=event.headers(),
                    no_confirm=True,
                )
                for event in events
            ]
            await asyncio.gather(*pending)


async def ensure_kafka_topic(url: str, topic: str, partitions: int) -> None:
    """Create the topic with `partitions` unless it exists (brokers that auto-create topics
    would give it the broker's default partition count)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=url, request_timeout_ms=10_000)
    await admin.start()
    try:
        if topic in await admin.list_topics():
            return
        with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile
            await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()


class NatsPublisher(FastStreamPublisher[NatsBroker]):
    """JetStream: subject `events.users.<event_type>`, `Nats-Msg-Id` = event id, so a re-send
    within the stream's duplicate window is stored once; the PubAck confirms storage."""

    broker = "nats"

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        duplicate_window_seconds: float,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(url, topology, timeout_seconds=timeout_seconds)
        self._window = duplicate_window_seconds

    def _new_broker(self) -> NatsBroker:
        return NatsBroker(
            self._url,
            connect_timeout=max(1, round(self._timeout)),
            graceful_timeout=None,
            logger=FASTSTREAM_LOGGER,
            log_level=QUIET,
        )

    async def _prepare(self, connection: Any) -> None:
        await ensure_jetstream(
            connection.jetstream(),
            self._topology.jetstream,
            self._topology.jetstream_subjects,
            duplicate_window_seconds=self._window,
        )

    async def publish(self, events: Sequence[Envelope]) -> None:
        broker = self._connected()

        async def send(event: Envelope) -> None:
            await broker.publish(
                event.to_body(),
                self._topology.subject(event),
                headers={**event.headers(), "Nats-Msg-Id": event.event_id},
                stream=self._topology.jetstream,
                timeout=self._timeout,
            )

        async with asyncio.timeout(self._timeout):
            await publish_in_order(events, send)


async def ensure_jetstream(
    js: Any,
    name: str,
    subjects: str,
    *,
    duplicate_window_seconds: float = NATS_DUPLICATE_WINDOW_SECONDS,
) -> None:
    """Create the file-backed stream, or bring an existing one to this configuration."""
    config = {
        "name": name,
        "subjects": [subjects],
        "duplicate_window": duplicate_window_seconds,
    }
    try:
        await js.add_stream(**config)
    except nats.js.errors.BadRequestError:  # exists with another configuration
        await js.update_stream(**config)
