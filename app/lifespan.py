"""Opens the pool, the Redis client and the background relay; closes them on shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
from fastapi import FastAPI

from app.auth.login_throttle import LoginThrottle
from app.auth.passwords import PasswordHasherService
from app.auth.sessions import SessionStore
from app.connections import open_pool, open_redis
from app.errors import POSTGRES_UNAVAILABLE
from app.events.background import start_outbox_relay, stop_outbox_relay
from app.observability.sampling import start_sampling, stop_sampling
from app.schema import SchemaCheck, newest_migration
from app.settings import Settings
from app.state import AppState
from app.user.accounts import ensure_user
from app.user.profile_cache import ProfileCache
from utils.database.psql import close_pool
from utils.redis.redis import close_redis

logger = logging.getLogger(__name__)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, AppState]]]


def build_lifespan(settings: Settings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, AppState]]:
        schema = SchemaCheck(newest_migration())  # before any connection: no db/ -> no start
        pool = await open_pool(settings)
        redis = open_redis(settings)
        hasher = PasswordHasherService(settings)
        ttl = settings.session_ttl_seconds
        state = AppState(
            settings=settings,
            pool=pool,
            redis=redis,
            hasher=hasher,
            sessions=SessionStore(
                redis, ttl_seconds=ttl, max_lifetime_seconds=settings.session_max_lifetime_seconds
            ),
            profiles=ProfileCache(redis, ttl_seconds=ttl),
            throttle=LoginThrottle(
                redis,
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_failure_window_seconds,
            ),
            schema=schema,
        )
        if settings.seed_demo_user:
            await _seed_demo_user(state)
        relay = start_outbox_relay(state)  # None unless settings.outbox_relay_enabled
        sampling = (
            start_sampling(pool, redis, settings.metrics_sample_interval_seconds)
            if settings.metrics_enabled
            else None
        )
        try:
            yield {"app": state}
        finally:
            await stop_sampling(sampling)
            await stop_outbox_relay(relay)
            await close_redis(redis)
            await close_pool(pool)
            hasher.close()

    return lifespan


SEED_FAILURES: tuple[type[Exception], ...] = (*POSTGRES_UNAVAILABLE, asyncpg.PostgresError)


async def _seed_demo_user(state: AppState) -> None:
    settings = state.settings
    try:
        await ensure_user(
            pool=state.pool,
            hasher=state.hasher,
            username=settings.demo_username,
            password=settings.demo_password.get_secret_value(),
            name="Demo User",
        )
    except SEED_FAILURES as exc:
        # A missing database or schema must not kill the worker: readiness reports it instead.
        logger.warning("demo user not seeded: postgres not ready (%s)", type(exc).__name__)
