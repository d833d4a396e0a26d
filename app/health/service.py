"""The readiness checks: each answers within its budget even when a dependency hangs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from app.health.migration_check import MigrationCheck
from app.health.schemas import Ready
from utils.database.psql import Pool
from utils.redis.redis import RedisClient

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.5


async def _check_postgres(pool: Pool) -> None:
    await pool.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)


async def _check_redis(redis: RedisClient) -> None:
    await redis.ping()


async def _outcome(name: str, check: Awaitable[str | None]) -> str:
    """ "ok", the check's own state ("behind"), "timeout" or "error". The answer names no
    exception (anyone who reaches the port reads it); the log line does, for the operator."""
    try:
        state = await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("readiness: %s check timed out", name)
        return "timeout"
    except Exception as exc:  # any failure means "not ready"
        logger.warning("readiness: %s check failed: %s", name, type(exc).__name__)
        return "error"
    return state or "ok"


async def readiness(*, pool: Pool, redis: RedisClient, migrations: MigrationCheck) -> Ready:
    postgres, redis_state, schema_state = await asyncio.gather(
        _outcome("postgres", _check_postgres(pool)),
        _outcome("redis", _check_redis(redis)),
        _outcome("schema", migrations.state(pool)),
    )
    checks = {"postgres": postgres, "redis": redis_state, "schema": schema_state}
    healthy = all(state == "ok" for state in checks.values())
    return Ready(status="ok" if healthy else "unavailable", checks=checks)
