"""The redis.asyncio client: created in the lifespan, closed on shutdown.

Standalone Redis gets `Redis` over a blocking pool; with `cluster`, the URL is a seed node and
the client is redis-py's `RedisCluster`, which learns the slot map from it and follows
failovers (MOVED, and a new map after a connection error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ClusterDownError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What the app holds: either client, chosen by `RedisOptions.cluster`.
RedisClient: TypeAlias = Redis | RedisCluster

# A cluster whose slot has no reachable primary yet (during a failover) answers with these;
# like a connection error, they mean "Redis is unavailable, retry shortly".
CLUSTER_UNAVAILABLE: tuple[type[Exception], ...] = (
    ClusterDownError,
    TryAgainError,
    SlotNotCoveredError,
)


def is_write_on_closed_connection(exc: BaseException) -> bool:
    """redis-py 8.1 raises AttributeError/TypeError, not ConnectionError, when it writes on a
    connection that a concurrent disconnect just closed (redis/redis-py#4287, fixed upstream
    by #4288, not in a release yet). The cluster client closes every connection after a
    failover, so requests in flight then hit it. True only for those two errors raised inside
    redis-py's connection code, so that they become a 503 like any connection error.
    tests/utils/test_redis_workaround.py fails once a redis-py release fixes it: then remove
    this and its handlers."""
    if not isinstance(exc, AttributeError | TypeError):
        return False
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_globals.get("__name__") == "redis.asyncio.connection":
            return True
        trace = trace.tb_next
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisOptions:
    """Everything the client needs, as plain values: the app builds it from its settings."""

    url: str
    max_connections: int
    pool_timeout: float
    socket_timeout: float
    connect_timeout: float
    health_check_interval: int
    cluster: bool = False
    on_wait: Callable[[], None] | None = None  # called when a command must wait for a connection


class FastPathBlockingPool(BlockingConnectionPool):
    """redis-py's blocking pool, with a free connection handed over without its wait machinery,
    and `on_wait` told each time every connection is taken and a command has to wait.

    The parent takes its condition's lock, arms a timeout and enters a context manager on every
    command, even with connections to spare: the largest part of what /getName cost over a naive
    app (docs/benchmark.md, issue 24's quiet-host section). The fast path runs only while nobody
    waits, so a newcomer queues behind waiters as it would without it; everything else goes
    through the parent unchanged. It skips redis-py's own connection metrics, which the service
    does not enable. tests/utils/test_redis_pool.py pins both paths and the redis-py methods
    this relies on.
    """

    on_wait: Callable[[], None] | None = None
    _waiting = 0

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._waiting == 0 and self.can_get_connection() and not self._in_maintenance:
            # No await between the check and the take: nothing else runs in between.
            connection = self.get_available_connection()  # type: ignore[no-untyped-call]
            try:
                await self.ensure_connection(connection)
            except BaseException:
                await self.release(connection)
                raise
            return connection
        if self.on_wait is not None and not self.can_get_connection():
            self.on_wait()
        self._waiting += 1
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self._waiting -= 1


def create_redis(options: RedisOptions) -> RedisClient:
    if options.cluster:
        return _create_cluster(options)
    # A blocking pool waits (up to pool_timeout) for a free connection; the default pool
    # raises at once when exhausted, which turned bursts of 256 connections into 500s.
    pool = FastPathBlockingPool.from_url(
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


def _create_cluster(options: RedisOptions) -> RedisCluster:
    # max_connections is per node here. The slot map is loaded on first use, so the app
    # starts (and reports 503 on readiness) while the cluster is unreachable.
    return RedisCluster.from_url(
        options.url,
        max_connections=options.max_connections,
        socket_timeout=options.socket_timeout,
        socket_connect_timeout=options.connect_timeout,
        health_check_interval=options.health_check_interval,
        decode_responses=True,
        # One attempt more, after reloading the slot map: a moved slot is followed at once,
        # a dead primary answers 503 fast until its replica takes over. Not 0: a cluster
        # pipeline reloads the map only on a retry, so with 0 it kept using the dead node.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError, RedisTimeoutError)),
    )


def _one_quick_retry() -> Retry:
    # One immediate retry replaces a pooled connection that died with a Redis restart; the
    # library default (3 retries with backoff up to 10 s) would blow the 2 s budget for a 503.
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


async def close_redis(client: RedisClient) -> None:
    await client.aclose()
    if isinstance(client, Redis):
        await client.connection_pool.disconnect()
