"""GET /health/live and GET /health/ready ("schema": "behind" while the database lacks the
newest migration of this code)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.health import service
from app.health.dependencies import MigrationCheckDep
from app.health.schemas import Live, Ready
from app.http.cache_control import NO_STORE_HEADERS
from app.wiring.dependencies import PoolDep, RedisDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Live)
async def live() -> Live:
    return Live(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(pool: PoolDep, redis: RedisDep, migrations: MigrationCheckDep) -> JSONResponse:
    body = await service.readiness(pool=pool, redis=redis, migrations=migrations)
    status_code = 200 if body.status == "ok" else 503
    return JSONResponse(body.model_dump(), status_code=status_code, headers=NO_STORE_HEADERS)
