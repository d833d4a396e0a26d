"""The user feature's state for the app's life: the per-account search limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.http.rate_limit import RateLimit
from app.wiring.lifespan import Clients, Component
from constants import SEARCH_LIMIT_KEY_PREFIX


@asynccontextmanager
async def open_user(clients: Clients) -> AsyncIterator[RateLimit]:
    settings = clients.settings
    yield RateLimit(
        clients.redis,
        prefix=SEARCH_LIMIT_KEY_PREFIX,
        limit=settings.search_max_per_window,
        window_seconds=settings.search_window_seconds,
    )


COMPONENT = Component(name="user", open=open_user)
