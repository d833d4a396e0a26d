"""The asyncpg pool: created in the lifespan, closed on shutdown.

Sizing rule: db_pool_max_size x gunicorn workers x API replicas < PostgreSQL max_connections.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from app.settings import Settings

logger = logging.getLogger(__name__)

Pool = asyncpg.Pool


def _server_settings(settings: Settings) -> dict[str, str]:
    return {
        "application_name": settings.db_application_name,
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": "10000",
    }


class BoundedPool(asyncpg.Pool):
    """A pool whose `acquire()` waits at most `acquire_timeout` for a free connection.

    asyncpg's `pool.fetch*()` and `acquire()` wait forever by default: under overload every
    request would queue for a connection. With a bound, the wait ends in TimeoutError, which
    the app answers with a fast 503 + Retry-After (app/errors.py): it sheds load instead.
    """

    __slots__ = ("_acquire_timeout",)

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)


async def _open(settings: Settings, *, min_size: int) -> Pool:
    # The arguments asyncpg.create_pool() passes to Pool(); create_pool has no pool_class.
    pool = BoundedPool(
        settings.database_url.get_secret_value(),
        acquire_timeout=settings.db_acquire_timeout,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        min_size=min_size,
        max_size=settings.db_pool_max_size,
        max_queries=50000,
        loop=None,
        connect=None,
        setup=None,
        init=None,
        reset=None,
        max_inactive_connection_lifetime=300.0,
        command_timeout=settings.db_command_timeout,
        timeout=settings.db_connect_timeout,
        server_settings=_server_settings(settings),
    )
    return await pool


async def create_pool(settings: Settings) -> Pool:
    """Create the pool; if PostgreSQL is down at start-up, start empty and connect lazily.

    The service must come up (and report 503 on readiness) while the database is away, and
    recover without a restart once it returns.
    """
    try:
        return await _open(settings, min_size=settings.db_pool_min_size)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        logger.warning("postgres unreachable at start (%s); connecting lazily", type(exc).__name__)
        return await _open(settings, min_size=0)


async def close_pool(pool: Pool) -> None:
    try:
        await pool.close()
    except (OSError, TimeoutError, asyncpg.PostgresError):
        pool.terminate()
