"""The app's settings turned into the plain options `utils/` takes: the one place that knows
which setting sizes which client."""

from __future__ import annotations

from app.core.settings import Settings
from app.observability.sampling import acquire_observer, redis_wait_hook
from utils.database.psql import DEFAULT_STATEMENT_CACHE_SIZE, Pool, PoolOptions, create_pool
from utils.redis.redis import RedisClient, RedisOptions, create_redis


def pool_options(settings: Settings) -> PoolOptions:
    return PoolOptions(
        dsn=settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        acquire_timeout=settings.db_acquire_timeout,
        command_timeout=settings.db_command_timeout,
        connect_timeout=settings.db_connect_timeout,
        application_name=settings.db_application_name,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        # PgBouncer in transaction mode hands each transaction any server connection: a
        # statement prepared on one is unknown on the next.
        statement_cache_size=0 if settings.db_pgbouncer else DEFAULT_STATEMENT_CACHE_SIZE,
        timeouts_as_startup_parameters=not settings.db_pgbouncer,
        observer=acquire_observer() if settings.metrics_enabled else None,
    )


def redis_options(settings: Settings) -> RedisOptions:
    return RedisOptions(
        url=settings.redis_url.get_secret_value(),
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout,
        socket_timeout=settings.redis_socket_timeout,
        connect_timeout=settings.redis_connect_timeout,
        health_check_interval=settings.redis_health_check_interval,
        cluster=settings.redis_cluster,
        on_wait=redis_wait_hook() if settings.metrics_enabled else None,
    )


async def open_pool(settings: Settings) -> Pool:
    return await create_pool(pool_options(settings))


def open_redis(settings: Settings) -> RedisClient:
    return create_redis(redis_options(settings))
