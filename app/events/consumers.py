"""Consumers on RabbitMQ, Kafka and NATS JetStream, with the Redis Streams consumer's
guarantees: one group per consuming service, each event handled once per group (the processed
ids in Redis), retried with backoff, dead-lettered after the last attempt, acknowledged only
when done with, one aggregate's events one after another in delivery order.

    rabbitmq  durable queue `events.users.<group>` bound to the events exchange with `#`,
              `x-single-active-consumer` (any number of instances, one receives: order holds),
              `x-dead-letter-exchange`: a rejected message goes to
              `events.users.deadletter.<group>`; up to EVENTS_CONSUMER_PREFETCH unacknowledged,
              handled in aggregate lanes
    kafka     consumer group `<group>` on the topic, offsets committed after each event; dead
              letters published to `events.users.deadletter.<group>` (key = aggregate id)
    nats      durable pull consumer `<group>` on the JetStream stream, explicit acks, fetches of
              up to EVENTS_CONSUMER_PREFETCH handled in aggregate lanes; dead letters published
              to `deadletter.events.users.<group>` (stream `EVENTS_USERS_DEADLETTER`)

RabbitMQ and NATS are read with aio-pika and nats-py directly, in delivery order, into
`AggregateLanes`: FastStream's subscribers run a prefetch or a fetched batch in concurrent
tasks that enter the handler out of delivery order. Kafka keeps FastStream's subscriber (one
record at a time, which is its partition order).

Each runs until cancelled. The broker client reconnects by itself; while the processed-ids
store (Redis) is down a consumer retries the message in place, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import aio_pika.abc
import nats
import nats.errors
import nats.js.api
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from nats.aio.msg import Msg

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
from app.events.lanes import AggregateLanes
from app.events.processing import EventProcessor, Handler, ProcessedIds, settle
from app.events.topology import Topology
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

Outages = (*REDIS_UNAVAILABLE, *BROKER_UNAVAILABLE)
# How long a stopping consumer waits for the handlers in flight.
GRACEFUL_SECONDS = 10.0


def _settle(
    processor: EventProcessor,
    body: bytes,
    *,
    ack: Callable[[], Awaitable[object]],
    dead_letter: Callable[[str], Awaitable[object]],
) -> Awaitable[None]:
    return settle(
        processor,
        body,
        parse=Envelope.from_body,
        ack=ack,
        dead_letter=dead_letter,
        outages=Outages,
    )


@asynccontextmanager
async def rabbit_consumer(
    url: str, topology: Topology, processor: EventProcessor, *, prefetch: int
) -> AsyncIterator[None]:
    group = processor.group
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        events = events_exchange(topology)
        exchange = await channel.declare_exchange(
            events.name, events.type.value, durable=events.durable
        )
        dead_exchange = await channel.declare_exchange(
            topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        dead_queue = await channel.declare_queue(topology.dead_letter_queue(group), durable=True)
        await dead_queue.bind(dead_exchange, routing_key=group)
        queue = await channel.declare_queue(
            topology.queue(group),
            durable=True,
            arguments={
                "x-single-active-consumer": True,
                "x-dead-letter-exchange": topology.dead_letter_exchange,
                "x-dead-letter-routing-key": group,
            },
        )
        await queue.bind(exchange, routing_key="#")
        lanes = AggregateLanes(prefetch)
        async with _delivering(_deliver_rabbit(queue, lanes, processor), lanes):
            yield
    finally:
        await connection.close()


async def _deliver_rabbit(
    queue: aio_pika.abc.AbstractQueue, lanes: AggregateLanes, processor: EventProcessor
) -> None:
    """Start each delivery in its aggregate's lane, in delivery order (the iterator's order)."""
    async with queue.iterator() as deliveries:
        async for message in deliveries:
            await lanes.start(_aggregate(message.headers), _rabbit_work(processor, message))


def _rabbit_work(
    processor: EventProcessor, message: aio_pika.abc.AbstractIncomingMessage
) -> Callable[[], Awaitable[None]]:
    async def ack() -> None:
        if not message.processed:  # a dead letter was rejected already
            await message.ack()

    async def dead_letter(reason: str) -> None:
        await message.reject()  # requeue=False: the queue's dead-letter exchange takes it

    return lambda: _settle(processor, message.body, ack=ack, dead_letter=dead_letter)


def _aggregate(headers: Mapping[str, Any] | None) -> object:
    """The lane of a message: its aggregate id header (a message without one is malformed
    and only dead-lettered, in a lane of its own kind)."""
    return (headers or {}).get("aggregate_id")


@asynccontextmanager
async def _delivering(
    deliver: Coroutine[Any, Any, None], lanes: AggregateLanes
) -> AsyncIterator[None]:
    """Run the delivery loop until the block ends; then give the handlers in flight
    GRACEFUL_SECONDS to finish."""
    task = asyncio.create_task(deliver)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await lanes.finish(GRACEFUL_SECONDS)


@asynccontextmanager
async def kafka_consumer(
    url: str, topology: Topology, processor: EventProcessor, *, partitions: int
) -> AsyncIterator[KafkaBroker]:
    group = processor.group
    await ensure_kafka_topic(url, topology.topic, partitions)
    await ensure_kafka_topic(url, topology.dead_letter_topic(group), 1)
    broker = KafkaBroker(
        url, graceful_timeout=GRACEFUL_SECONDS, logger=FASTSTREAM_LOGGER, log_level=QUIET
    )

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
            dead_letter=dead_letter,
        )

    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@asynccontextmanager
async def nats_consumer(
    url: str,
    topology: Topology,
    processor: EventProcessor,
    *,
    prefetch: int,
    ack_wait_seconds: float = 60.0,
) -> AsyncIterator[None]:
    group = processor.group
    connection = await nats.connect(url, connect_timeout=5, allow_reconnect=True)
    try:
        js = connection.jetstream()
        # The relay declares the events' stream too, with the same settings.
        await ensure_jetstream(js, topology.jetstream, topology.jetstream_subjects)
        await ensure_jetstream(js, topology.dead_letter_jetstream, topology.dead_letter_subjects)
        subscription = await js.pull_subscribe(
            topology.jetstream_subjects,
            durable=group,
            stream=topology.jetstream,
            config=nats.js.api.ConsumerConfig(
                ack_policy=nats.js.api.AckPolicy.EXPLICIT,
                ack_wait=ack_wait_seconds,
                max_ack_pending=max(1_000, prefetch * 2),
            ),
        )
        lanes = AggregateLanes(prefetch)

        async def dead_letter(message: Msg, reason: str) -> None:
            headers = {**(message.headers or {}), "dead_letter_reason": reason[:500]}
            await js.publish(
                topology.dead_letter_subject(group),
                message.data,
                stream=topology.dead_letter_jetstream,
                headers=headers,
            )

        def work(message: Msg) -> Callable[[], Awaitable[None]]:
            return lambda: _settle(
                processor,
                message.data,
                ack=message.ack,
                dead_letter=lambda reason: dead_letter(message, reason),
            )

        async def deliver() -> None:
            """Fetch up to `prefetch` at a time (what is there now, or the first to come) and
            start each in its aggregate's lane, in stream order."""
            backoff = Backoff()
            while True:
                try:
                    messages = await subscription.fetch(batch=prefetch, timeout=5.0)
                except nats.errors.TimeoutError:
                    continue
                except BROKER_UNAVAILABLE as exc:
                    delay = backoff.next_delay()
                    logger.warning("consumer: %s; fetching again in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    continue
                backoff.reset()
                for message in messages:
                    await lanes.start(_aggregate(message.headers), work(message))

        async with _delivering(deliver(), lanes):
            yield
    finally:
        await connection.close()


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
        prefetch = settings.events_consumer_prefetch
        if settings.events_broker == "rabbitmq":
            return rabbit_consumer(url, topology, processor, prefetch=prefetch)
        if settings.events_broker == "kafka":
            partitions = settings.events_kafka_partitions
            return kafka_consumer(url, topology, processor, partitions=partitions)
        return nats_consumer(url, topology, processor, prefetch=prefetch)

    logger.info("consuming %s events as group %r (%s)", settings.events_broker, group, consumer)
    await run_until_cancelled(start, ready)
