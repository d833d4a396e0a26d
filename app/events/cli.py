"""`relay-events` and `consume-events`, registered into `python -m app.cli`.

relay-events runs the same relay the API runs in its lifespan, for deployments that prefer a
separate service; both may run at once, the advisory lock keeps one active. consume-events
reads EVENTS_BROKER's events as one consumer group and prints each as a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable
from dataclasses import replace

import prometheus_client

from app.core.logging_config import configure_logging
from app.core.settings import Settings, get_settings
from app.events.consumers import consume
from app.events.envelope import Envelope
from app.events.lifespan import build_relay
from app.wiring.connections import open_redis, redis_options
from utils.redis.redis import RedisClient, close_redis, create_redis

BLOCK_MS = 5_000
logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    relay = subparsers.add_parser("relay-events", help="move outbox rows to the events stream")
    relay.set_defaults(handler=relay_events_command)
    consume = subparsers.add_parser("consume-events", help="print events as JSON lines")
    consume.add_argument("--group", default="example", help="consumer group (one per service)")
    consume.add_argument(
        "--consumer", default=socket.gethostname(), help="consumer name, unique in the group"
    )
    consume.add_argument(
        "--claim-idle-ms", type=int, default=60_000, help="redis: retry others' unacked after this"
    )
    consume.add_argument(
        "--metrics-port", type=int, default=0, help="serve /metrics on 127.0.0.1:PORT (0: off)"
    )
    consume.set_defaults(handler=consume_events_command)


def relay_events_command(args: argparse.Namespace) -> int:
    settings = _settings()
    run_until_signalled(_relay(settings))
    return 0


def consume_events_command(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.metrics_port:
        prometheus_client.start_http_server(args.metrics_port, addr="127.0.0.1")
    run_until_signalled(_consume(settings, args.group, args.consumer, args.claim_idle_ms))
    return 0


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level)
    return settings


async def _relay(settings: Settings) -> None:
    redis = open_redis(settings)
    try:
        await build_relay(settings, redis).run()
    finally:
        await close_redis(redis)


async def _consume(settings: Settings, group: str, name: str, claim_idle_ms: int) -> None:
    redis = consumer_redis(settings)
    ready = asyncio.Event()
    announce = asyncio.create_task(_announce_ready(ready, settings.events_broker, group))
    try:
        await consume(
            settings,
            redis,
            group=group,
            consumer=name,
            handler=_print_event,
            claim_idle_ms=claim_idle_ms,
            block_ms=BLOCK_MS,
            ready=ready,
        )
    finally:
        announce.cancel()
        await close_redis(redis)


async def _announce_ready(ready: asyncio.Event, broker: str, group: str) -> None:
    """One line once the group's queue, subscription or stream group exists: from then on
    nothing published is missed (`make local` and its test wait for it)."""
    await ready.wait()
    logger.info("%s: consumer group %r is ready", broker, group)


def consumer_redis(settings: Settings) -> RedisClient:
    """A consumer's own client: XREADGROUP BLOCK needs a socket timeout longer than the block."""
    options = replace(redis_options(settings), socket_timeout=BLOCK_MS / 1000 + 5)
    return create_redis(options)


async def _print_event(event: Envelope) -> None:
    print(event.as_json(), flush=True)


def run_until_signalled(main: Awaitable[None]) -> None:
    """Run until SIGTERM (docker stop) or SIGINT, then unwind cleanly (releasing the lock)."""

    async def supervise() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(supervise())
