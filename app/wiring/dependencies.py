"""Typed dependency aliases for the shared clients: handlers reach the pool, Redis and the
settings only through these. A feature's own state has its aliases in the feature's
`dependencies.py`, read the same way (`state_of`)."""

from __future__ import annotations

from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request

from app.core.settings import Settings
from app.wiring.lifespan import CLIENTS, Clients
from utils.database.psql import Pool
from utils.redis.redis import RedisClient

T = TypeVar("T")


def state_of(request: Request, name: str, kind: type[T]) -> T:
    """The state a component (or the clients) stored under `name` in the lifespan."""
    return cast(T, getattr(request.state, name))


# Each getter reads the request itself rather than depending on another dependency: every level
# of dependencies costs FastAPI's resolver time on each request (docs/benchmark.md).
async def get_settings_dep(request: Request) -> Settings:
    return state_of(request, CLIENTS, Clients).settings


async def get_pool(request: Request) -> Pool:
    return state_of(request, CLIENTS, Clients).pool


async def get_redis(request: Request) -> RedisClient:
    return state_of(request, CLIENTS, Clients).redis


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[Pool, Depends(get_pool)]
RedisDep = Annotated[RedisClient, Depends(get_redis)]
