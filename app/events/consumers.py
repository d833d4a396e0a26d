"""Consumers on RabbitMQ, Kafka and NATS JetStream (FastStream subscribers), with the Redis
Streams consumer's guarantees: one group per consuming service, each event handled once per
group (the processed ids in Redis), retried with backoff, dead-lettered after the last attempt,
acknowledged only when done with, one at a time in delivery order.

    rabbitmq  durable queue `events.users.<group>` bound to the events exchange with `#`,
              `x-single-active-consumer` (any number of instances, one receives: order holds),
              `x-dead-letter-exchange`: a rejected message goes to `events.users.deadletter.<group>`
    kafka     consumer group `<group>` on the topic, offsets committed after each event; dead
              letters published to `events.users.deadletter.<group>` (key = aggregate id)
    nats      durable pull consumer `<group>` on the JetStream stream, explicit acks; dead
              letters published to `deadletter.events.users.<group>` (stream
              `EVENTS_USERS_DEADLETTER`)

Each runs until cancelled. The broker client reconnects by itself; the processed-ids store
(Redis) being down makes a consumer retry the same message with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from app.core.outages import REDIS_UNAVAILABLE
from app.core.settings import Settings
from app.events.backoff import Backoff
from app.events.brokers import (
    BROKER_UNAVAILABLE,
    FASTSTREAM_LOGGER,
    QUIET,
    ensure_jetstream,
    ensure_kafka_topic,
    events_exchange,
)
from app.events.consumer import EventConsumer
from app.events.envelope import Envelope
from app.events.processing import EventProcessor, Handler, ProcessedIds, settle
from app.events.topology import Topology
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

Outages = (*REDIS_UNAVAILABLE, *BROKER_UNAVAILABLE)


def _settle(
    processor: EventProcessor,
    body: bytes,
    *,
    ack: Callable[[], Awaitable[object]],
    retry_later: Callable[[], Awaitable[object]],
    dead_letter: Callable[[str], Awaitable[object]],
    backoff: Backoff,
) -> Awaitable[None]:
    return settle(
        processor,
        body,
        parse=Envelope.from_body,
        ack=ack,
        retry_later=retry_later,
        dead_letter=dead_letter,
        outage_backoff=backoff,
        outages=Outages,
    )


@asynccontextmanager
async def rabbit_consumer(
    url: str, topology: Topology, processor: EventProcessor
) -> AsyncIterator[RabbitBroker]:
    group = processor.group
    broker = RabbitBroker(url, graceful_timeout=10, logger=FASTSTREAM_LOGGER, log_level=QUIET)
    dead_exchange = RabbitExchange(
        topology.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True
    )
    queue = RabbitQueue(
        topology.queue(group),
        durable=True,
        routing_key="#",
        arguments={
            "x-single-active-consumer": True,
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": group,
        },
    )
    backoff = Backoff()

    # prefetch 1: the next message is delivered once this one is settled (order, and a
    # handler retrying holds no others back from a consumer that took over).
    @broker.subscriber(
        queue,
        events_exchange(topology),
        channel=Channel(prefetch_count=1),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_message(message: RabbitMessage) -> None:
        async def dead_letter(reason: str) -> None:
            await message.reject()  # requeue=False: the queue's DLX takes it

        await _settle(
            processor,
            message.body,
            ack=_noop,  # reject() already settled a dead letter; ack() the others below
            retry_later=message.nack,
            dead_letter=dead_letter,
            backoff=backoff,
        )
        if not message.committed:
            await message.ack()

    await broker.connect()
    await broker.declare_exchange(events_exchange(topology))
    await broker.declare_exchange(dead_exchange)
    dead_queue = await broker.declare_queue(
        RabbitQueue(topology.dead_letter_queue(group), durable=True, routing_key=group)
    )
    await dead_queue.bind(topology.dead_letter_exchange, routing_key=group)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@asynccontextmanager
async def kafka_consumer(
    url: str, topology: Topology, processor: EventProcessor, *, partitions: int
) -> AsyncIterator[KafkaBroker]:
    group = processor.group
    await ensure_kafka_topic(url, topology.topic, partitions)
    await ensure_kafka_topic(url, topology.dead_letter_topic(group), 1)
    broker = KafkaBroker(url, graceful_timeout=10, logger=FASTSTREAM_LOGGER, log_level=QUIET)
    backoff = Backoff()

    @broker.subscriber(
        topology.topic,
        group_id=group,
        auto_offset_reset="earliest",  # a new group reads what the topic still holds
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_message(message: KafkaMessage) -> None:
        record: Any = message.raw_message

        async def dead_letter(reason: str) -> None:
            headers = {key: value.decode() for key, value in record.headers or ()}
            await broker.publish(
                message.body,
                topology.dead_letter_topic(group),
                key=record.key,
                headers={**headers, "dead_letter_reason": reason[:500]},
            )

        await _settle(
            processor,
            message.body,
            ack=message.ack,
            retry_later=message.nack,
            dead_letter=dead_letter,
            backoff=backoff,
        )

    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@asynccontextmanager
async def nats_consumer(
    url: str, topology: Topology, processor: EventProcessor, *, ack_wait_seconds: float = 60.0
) -> AsyncIterator[NatsBroker]:
    group = processor.group
    broker = NatsBroker(url, graceful_timeout=10, logger=FASTSTREAM_LOGGER, log_level=QUIET)
    backoff = Backoff()

    @broker.subscriber(
        f"{topology.prefix}.>",
        stream=JStream(topology.jetstream, declare=False),
        durable=group,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=ConsumerConfig(ack_wait=ack_wait_seconds),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_message(message: NatsMessage) -> None:
        async def dead_letter(reason: str) -> None:
            headers = dict(message.headers)
            await broker.publish(
                message.body,
                topology.dead_letter_subject(group),
                headers={**headers, "dead_letter_reason": reason[:500]},
                stream=topology.dead_letter_jetstream,
            )

        await _settle(
            processor,
            message.body,
            ack=message.ack,
            retry_later=message.nack,
            dead_letter=dead_letter,
            backoff=backoff,
        )

    connection = await broker.connect()
    js = connection.jetstream()
    # The relay declares the events' stream too, with the same settings.
    await ensure_jetstream(js, topology.jetstream, topology.jetstream_subjects)
    await ensure_jetstream(js, topology.dead_letter_jetstream, topology.dead_letter_subjects)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def _noop() -> None:
    return None


async def run_until_cancelled(
    start: Callable[[], contextlib.AbstractAsyncContextManager[object]],
    ready: asyncio.Event | None = None,
) -> None:
    """Start the consumer, retrying with backoff while its broker is unreachable; then run
    until cancelled (the clients reconnect by themselves from there)."""
    backoff = Backoff()
    while True:
        try:
            async with start():
                backoff.reset()
                if ready is not None:
                    ready.set()
                await asyncio.Event().wait()
        except Outages as exc:
            delay = backoff.next_delay()
            logger.warning("consumer: cannot start: %s; retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)


async def consume(
    settings: Settings,
    redis: RedisClient,
    *,
    group: str,
    consumer: str,
    handler: Handler,
    claim_idle_ms: int = 60_000,
    block_ms: int = 5_000,
    ready: asyncio.Event | None = None,
) -> None:
    """Consume EVENTS_BROKER's events as `group` until cancelled. `redis` keeps the processed
    ids (and is the broker for redis): its socket timeout must exceed `block_ms`. `ready` is
    set once the group's queue, subscription or stream group exists: from then on nothing
    published is missed."""
    processed = ProcessedIds(redis, group=group, ttl_seconds=settings.events_processed_ttl_seconds)
    if settings.events_broker == "redis":
        stream_consumer = EventConsumer(
            redis,
            stream=settings.events_stream,
            group=group,
            consumer=consumer,
            handler=handler,
            claim_idle_ms=claim_idle_ms,
            max_attempts=settings.events_max_attempts,
            max_deliveries=settings.events_max_attempts,
            processed_ttl_seconds=settings.events_processed_ttl_seconds,
        )
        await stream_consumer.run(block_ms=block_ms, ready=ready)
        return
    processor = EventProcessor(
        handler,
        processed=processed,
        broker=settings.events_broker,
        group=group,
        max_attempts=settings.events_max_attempts,
    )
    topology = Topology(settings.events_stream)
    url = settings.broker_url

    def start() -> contextlib.AbstractAsyncContextManager[object]:
        if settings.events_broker == "rabbitmq":
            return rabbit_consumer(url, topology, processor)
        if settings.events_broker == "kafka":
            partitions = settings.events_kafka_partitions
            return kafka_consumer(url, topology, processor, partitions=partitions)
        return nats_consumer(url, topology, processor)

    logger.info("consuming %s events as group %r (%s)", settings.events_broker, group, consumer)
    await run_until_cancelled(start, ready)
