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


async def get_state(request: Request) -> AppState:
    return cast(AppState, request.state.app)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


async def get_pool(state: StateDep) -> Pool:
    return state.pool


async def get_redis(state: StateDep) -> RedisClient:
    return state.redis


async def get_hasher(state: StateDep) -> PasswordHasherService:
    return state.hasher


async def get_sessions(state: StateDep) -> SessionStore:
    return state.sessions


async def get_profiles(state: StateDep) -> ProfileCache:
    return state.profiles


async def get_schema(state: StateDep) -> SchemaCheck:
    return state.schema


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[Pool, Depends(get_pool)]
RedisDep = Annotated[RedisClient, Depends(get_redis)]
HasherDep = Annotated[PasswordHasherService, Depends(get_hasher)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
ProfilesDep = Annotated[ProfileCache, Depends(get_profiles)]
SchemaDep = Annotated[SchemaCheck, Depends(get_schema)]
