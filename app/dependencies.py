"""Typed dependency aliases: handlers reach the pool, Redis and settings only through these."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.auth.passwords import PasswordHasherService
from app.auth.sessions import SessionStore
from app.schema import SchemaCheck
from app.settings import Settings
from app.state import AppState
from app.user.profile_cache import ProfileCache
from utils.database.psql import Pool
from utils.redis.redis import RedisClient


def app_state(request: Request) -> AppState:
    return cast(AppState, request.state.app)


async def get_state(request: Request) -> AppState:
    return app_state(request)


StateDep = Annotated[AppState, Depends(get_state)]

# Each getter reads the request itself rather than depending on StateDep: every level of
# dependencies costs FastAPI's resolver a few microseconds per request (py-spy: resolution was
# a third of a /getName request in the app; docs/benchmark.md, round 2).


async def get_settings_dep(request: Request) -> Settings:
    return app_state(request).settings


async def get_pool(request: Request) -> Pool:
    return app_state(request).pool


async def get_redis(request: Request) -> RedisClient:
    return app_state(request).redis


async def get_hasher(request: Request) -> PasswordHasherService:
    return app_state(request).hasher


async def get_sessions(request: Request) -> SessionStore:
    return app_state(request).sessions


async def get_profiles(request: Request) -> ProfileCache:
    return app_state(request).profiles


async def get_schema(request: Request) -> SchemaCheck:
    return app_state(request).schema


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[Pool, Depends(get_pool)]
RedisDep = Annotated[RedisClient, Depends(get_redis)]
HasherDep = Annotated[PasswordHasherService, Depends(get_hasher)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
ProfilesDep = Annotated[ProfileCache, Depends(get_profiles)]
SchemaDep = Annotated[SchemaCheck, Depends(get_schema)]
