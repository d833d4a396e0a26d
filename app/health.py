"""Liveness and readiness. Readiness answers within its budget even when a dependency hangs,
and is 503 while the database lacks the newest migration of this code ("schema": "behind")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.dependencies import PoolDep, RedisDep, SchemaDep
from app.schema import SchemaCheck
from utils.database.psql import Pool
from utils.redis.redis import RedisClient

router = APIRouter(prefix="/health", tags=["health"])

CHECK_TIMEOUT_SECONDS = 1.5


class Live(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    checks: dict[str, str]


async def _check_postgres(pool: Pool) -> None:
    await pool.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)


async def _check_redis(redis: RedisClient) -> None:
    await redis.ping()


async def _check_schema(schema: SchemaCheck, pool: Pool) -> str:
    return await schema.state(pool)


async def _outcome(check: Awaitable[str | None]) -> str:
    try:
        state = await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means "not ready"; the kind is reported
        return f"error: {type(exc).__name__}"
    return state or "ok"


@router.get("/live", response_model=Live)
async def live() -> Live:
    return Live(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(pool: PoolDep, redis: RedisDep, schema: SchemaDep) -> JSONResponse:
    postgres, redis_state, schema_state = await asyncio.gather(
        _outcome(_check_postgres(pool)),
        _outcome(_check_redis(redis)),
        _outcome(_check_schema(schema, pool)),
    )
    checks = {"postgres": postgres, "redis": redis_state, "schema": schema_state}
    healthy = all(state == "ok" for state in checks.values())
    body = Ready(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(
        body.model_dump(),
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
