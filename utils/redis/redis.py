"""The redis.asyncio client: created in the lifespan, closed on shutdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisOptions:
    """Everything the client needs, as plain values: the app builds it from its settings."""

    url: str
    max_connections: int
    pool_timeout: float
    socket_timeout: float
    connect_timeout: float
    health_check_interval: int
    on_wait: Callable[[], None] | None = None  # called when a command must wait for a connection


class _WaitCountingPool(BlockingConnectionPool):
    """Tells `on_wait` each time every connection is taken and a command has to wait."""

    on_wait: Callable[[], None] | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self.on_wait is not None and not self.can_get_connection():
            self.on_wait()
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


def create_redis(options: RedisOptions) -> Redis:
    # A blocking pool waits (up to pool_timeout) for a free connection; the default pool
    # raises at once when exhausted, which turned bursts of 256 connections into 500s.
    pool = _WaitCountingPool.from_url(
        options.url,
        max_connections=options.max_connections,
        timeout=options.pool_timeout,
        socket_timeout=options.socket_timeout,
        socket_connect_timeout=options.connect_timeout,
        health_check_interval=options.health_check_interval,
        decode_responses=True,
        retry=_one_quick_retry(),
    )
    pool.on_wait = options.on_wait
    return Redis(connection_pool=pool, retry=_one_quick_retry())


def _one_quick_retry() -> Retry:
    # One immediate retry replaces a pooled connection that died with a Redis restart; the
    # library default (3 retries with backoff up to 10 s) would blow the 2 s budget for a 503.
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


async def close_redis(client: Redis) -> None:
    await client.aclose()
    await client.connection_pool.disconnect()
