"""Builds the relay, and runs it as a task of the app's lifespan (one per worker; the advisory
lock lets only one of them work)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.core.settings import Settings
from app.events.brokers import KafkaPublisher, NatsPublisher, RabbitPublisher
from app.events.config import RelayConfig
from app.events.publisher import Publisher, RedisStreamPublisher
from app.events.relay import OutboxRelay
from app.events.topology import Topology
from app.wiring.lifespan import Clients, Component
from utils.redis.redis import RedisClient


def build_relay(settings: Settings, redis: RedisClient, **overrides: Any) -> OutboxRelay:
    config = RelayConfig.from_settings(settings, **overrides)
    return OutboxRelay(config, build_publisher(config, redis))


def build_publisher(config: RelayConfig, redis: RedisClient) -> Publisher:
    """The publisher for EVENTS_BROKER."""
    topology = Topology(config.stream)
    timeout = config.publish_timeout_seconds
    if config.broker == "rabbitmq":
        return RabbitPublisher(config.broker_url, topology, timeout_seconds=timeout)
    if config.broker == "kafka":
        return KafkaPublisher(
            config.broker_url,
            topology,
            partitions=config.kafka_partitions,
            idempotence=config.kafka_idempotence,
            timeout_seconds=timeout,
        )
    if config.broker == "nats":
        return NatsPublisher(
            config.broker_url,
            topology,
            duplicate_window_seconds=config.nats_duplicate_window_seconds,
            timeout_seconds=timeout,
        )
    return RedisStreamPublisher(
        redis,
        stream=config.stream,
        maxlen=config.stream_maxlen,
        marker_ttl_seconds=config.marker_ttl_seconds,
    )


def start_outbox_relay(clients: Clients) -> asyncio.Task[None] | None:
    """Start the relay task when OUTBOX_RELAY_ENABLED; None otherwise."""
    if not clients.settings.outbox_relay_enabled:
        return None
    relay = build_relay(clients.settings, clients.redis)
    return asyncio.create_task(relay.run(), name="outbox-relay")


async def stop_outbox_relay(task: asyncio.Task[None] | None) -> None:
    """Cancel the relay and wait for it to release its connection (and so its lock)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def run_outbox_relay(clients: Clients) -> AsyncIterator[asyncio.Task[None] | None]:
    task = start_outbox_relay(clients)
    try:
        yield task
    finally:
        await stop_outbox_relay(task)


COMPONENT = Component(name="outbox_relay", open=run_outbox_relay)
