"""The app's lifespan: opens PostgreSQL and Redis, then the features' components, and closes
everything in reverse order on shutdown.

A feature that keeps state for the app's life (a hasher with threads, a session store, a
background task) declares a `Component` in its own `lifespan.py`; `main.py` lists them. Each
component's state is stored under its name in the lifespan state and read back by that
feature's own dependencies, so this module never imports a feature.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from app.core.settings import Settings
from app.observability.sampling import start_sampling, stop_sampling
from app.wiring.connections import open_pool, open_redis
from utils.database.psql import Pool, close_pool
from utils.redis.redis import RedisClient, close_redis


@dataclass(frozen=True, slots=True)
class Clients:
    """What every feature may use: the settings and the two shared clients."""

    settings: Settings
    pool: Pool
    redis: RedisClient


@dataclass(frozen=True, slots=True)
class Component:
    """A feature's state for the app's life: `open` yields it, and closes it after the yield."""

    name: str  # the key in the lifespan state (request.state.<name>)
    open: Callable[[Clients], AbstractAsyncContextManager[object]]


CLIENTS = "clients"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, object]]]


def build_lifespan(settings: Settings, components: Sequence[Component] = ()) -> Lifespan:
    names = [CLIENTS, *(component.name for component in components)]
    if len(set(names)) != len(names):
        raise ValueError(f"component names must be unique: {names}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        async with AsyncExitStack() as stack:
            pool = await open_pool(settings)
            stack.push_async_callback(close_pool, pool)
            redis = open_redis(settings)
            stack.push_async_callback(close_redis, redis)
            clients = Clients(settings=settings, pool=pool, redis=redis)
            state: dict[str, object] = {CLIENTS: clients}
            for component in components:
                state[component.name] = await stack.enter_async_context(component.open(clients))
            if settings.metrics_enabled:
                sampling = start_sampling(pool, redis, settings.metrics_sample_interval_seconds)
                stack.push_async_callback(stop_sampling, sampling)
            yield state

    return lifespan
