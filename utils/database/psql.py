"""The asyncpg pool: created in the lifespan, closed on shutdown.

Sizing rule: db_pool_max_size x gunicorn workers x API replicas < PostgreSQL max_connections.
"""

from __future__ import annotations

import logging

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


async def _open(settings: Settings, *, min_size: int) -> Pool:
    return await asyncpg.create_pool(
        settings.database_url.get_secret_value(),
        min_size=min_size,
        max_size=settings.db_pool_max_size,
        command_timeout=settings.db_command_timeout,
        timeout=settings.db_connect_timeout,
        server_settings=_server_settings(settings),
        max_inactive_connection_lifetime=300.0,
    )


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
