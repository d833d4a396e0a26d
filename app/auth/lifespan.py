"""The auth feature's state for the app's life: the password hasher (its threads), the session
store, the profile cache and the login throttle; and the demo account when asked for."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from app.auth.accounts import ensure_user
from app.auth.hash_memory import use_one_arena
from app.auth.passwords import PasswordHasherService
from app.auth.profile_cache import ProfileCache
from app.auth.sessions import SessionStore
from app.auth.throttle import LoginThrottle
from app.core.outages import POSTGRES_UNAVAILABLE
from app.core.settings import Settings
from app.wiring.lifespan import Clients, Component

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuthState:
    hasher: PasswordHasherService
    sessions: SessionStore
    profiles: ProfileCache
    throttle: LoginThrottle


def build_auth_state(clients: Clients, hasher: PasswordHasherService) -> AuthState:
    settings, redis = clients.settings, clients.redis
    ttl = settings.session_ttl_seconds
    return AuthState(
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
    )


@asynccontextmanager
async def open_auth(clients: Clients) -> AsyncIterator[AuthState]:
    # Before the hashing threads start: their freed blocks then go back to the main arena.
    one_arena = use_one_arena()
    hasher = PasswordHasherService(clients.settings, gives_memory_back=one_arena)
    try:
        state = build_auth_state(clients, hasher)
        if clients.settings.seed_demo_user:
            await _seed_demo_user(clients, hasher)
        yield state
    finally:
        hasher.close()


COMPONENT = Component(name="auth", open=open_auth)

SEED_FAILURES: tuple[type[Exception], ...] = (*POSTGRES_UNAVAILABLE, asyncpg.PostgresError)


async def _seed_demo_user(clients: Clients, hasher: PasswordHasherService) -> None:
    settings: Settings = clients.settings
    try:
        await ensure_user(
            pool=clients.pool,
            hasher=hasher,
            username=settings.demo_username,
            password=settings.demo_password.get_secret_value(),
            name="Demo User",
        )
    except SEED_FAILURES as exc:
        # A missing database or schema must not kill the worker: readiness reports it instead.
        logger.warning("demo user not seeded: postgres not ready (%s)", type(exc).__name__)
