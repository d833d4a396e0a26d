"""GET /health/live and GET /health/ready ("schema": "behind" while the database lacks the
newest migration of this code)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.health import service
from app.health.dependencies import MigrationCheckDep
from app.health.schemas import Live, Ready
from app.http.cache_control import NO_STORE_HEADERS
from app.http.errors import RETRY_AFTER_DOC
from app.wiring.dependencies import PoolDep, RedisDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Live)
async def live() -> Live:
    return Live(status="ok")


# A 503 says when to ask again, like every 503 of the app (RFC 9110).
NOT_READY_HEADERS = {**NO_STORE_HEADERS, "Retry-After": "1"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={
        503: {
            "model": Ready,
            "description": "A dependency is down or the schema is behind",
            "headers": {"Retry-After": RETRY_AFTER_DOC},
        }
    },
)
async def ready(pool: PoolDep, redis: RedisDep, migrations: MigrationCheckDep) -> JSONResponse:
    body = await service.readiness(pool=pool, redis=redis, migrations=migrations)
    if body.status == "ok":
        return JSONResponse(body.model_dump(), headers=NO_STORE_HEADERS)
    return JSONResponse(body.model_dump(), status_code=503, headers=NOT_READY_HEADERS)
