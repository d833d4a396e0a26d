"""The readiness checks: each answers within its budget even when a dependency hangs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from app.health.migration_check import MigrationCheck
from app.health.schemas import Ready
from utils.database.psql import Pool
from utils.redis.redis import RedisClient

CHECK_TIMEOUT_SECONDS = 1.5


async def _check_postgres(pool: Pool) -> None:
    await pool.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)


async def _check_redis(redis: RedisClient) -> None:
    await redis.ping()


async def _outcome(check: Awaitable[str | None]) -> str:
    try:
        state = await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means "not ready"; the kind is reported
        return f"error: {type(exc).__name__}"
    return state or "ok"


async def readiness(*, pool: Pool, redis: RedisClient, migrations: MigrationCheck) -> Ready:
    postgres, redis_state, schema_state = await asyncio.gather(
        _outcome(_check_postgres(pool)),
        _outcome(_check_redis(redis)),
        _outcome(migrations.state(pool)),
    )
    checks = {"postgres": postgres, "redis": redis_state, "schema": schema_state}
    healthy = all(state == "ok" for state in checks.values())
    return Ready(status="ok" if healthy else "unavailable", checks=checks)
