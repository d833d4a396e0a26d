"""A task per worker, every `metrics_sample_interval_seconds` (1 s): writes the HTTP metrics
gathered since the last time (app/observability/http_metrics.py), and samples the gauges that
are read rather than counted: pool sizes and, under gunicorn, each worker's process figures.
Other counters and histograms are updated where things happen (utils' pools call the hooks
below)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from prometheus_client import Gauge, ProcessCollector
from redis.asyncio import BlockingConnectionPool, Redis

from app.observability import metrics
from app.observability.http_metrics import PENDING
from app.observability.metrics_route import MULTIPROCESS
from utils.database.psql import AcquireObserver, BoundedPool, Pool
from utils.redis.redis import RedisClient
from version import __version__

logger = logging.getLogger(__name__)

# Under gunicorn prometheus-client cannot collect process figures itself (each worker is a
# process): every worker writes its own, labelled with its pid. Off the default registry,
# where a single process's ProcessCollector already exports these names.
_PROCESS_GAUGES = {
    name: Gauge(name, help_text, registry=None, multiprocess_mode="liveall")
    for name, help_text in (
        ("process_resident_memory_bytes", "Resident memory of the worker"),
        ("process_cpu_seconds_total", "CPU time of the worker"),
        ("process_open_fds", "Open file descriptors of the worker"),
        ("process_start_time_seconds", "Start time of the worker (Unix time)"),
    )
}
_PROCESS = ProcessCollector(registry=None)


def acquire_observer() -> AcquireObserver:
    return AcquireObserver(
        waited=metrics.DB_POOL_ACQUIRE_WAIT.observe, timed_out=metrics.DB_POOL_ACQUIRE_TIMEOUTS.inc
    )


def redis_wait_hook() -> Callable[[], None]:
    return metrics.REDIS_POOL_WAITS.inc


def sample_pools(pool: Pool, redis: RedisClient) -> None:
    size = pool.get_size()
    metrics.DB_POOL_SIZE.set(size)
    metrics.DB_POOL_MAX.set(pool.get_max_size())
    metrics.DB_POOL_IN_USE.set(size - pool.get_idle_size())
    if isinstance(pool, BoundedPool):
        metrics.DB_POOL_WAITERS.set(pool.waiting())
    if not isinstance(redis, Redis):
        return  # a Redis Cluster client: a pool per node, none of them the blocking pool
    connections = redis.connection_pool
    if isinstance(connections, BlockingConnectionPool):
        metrics.REDIS_POOL_IN_USE.set(len(connections._in_use_connections))
        metrics.REDIS_POOL_MAX.set(connections.max_connections)


def sample_process() -> None:
    for family in _PROCESS.collect():
        for sample in family.samples:
            gauge = _PROCESS_GAUGES.get(sample.name)
            if gauge is not None:
                gauge.set(sample.value)


async def sample_forever(pool: Pool, redis: RedisClient, interval: float) -> None:
    while True:
        try:
            PENDING.flush()
            sample_pools(pool, redis)
            if MULTIPROCESS:
                sample_process()
        except Exception:  # a failed sample must not end the sampling
            logger.exception("metrics sampling failed")
        await asyncio.sleep(interval)


def start_sampling(pool: Pool, redis: RedisClient, interval: float) -> asyncio.Task[None]:
    metrics.BUILD_INFO.labels(__version__).set(1)
    return asyncio.create_task(sample_forever(pool, redis, interval), name="metrics-sampling")


async def stop_sampling(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    PENDING.flush()  # a worker that stops in order loses no counts
