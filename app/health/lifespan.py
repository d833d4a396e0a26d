"""The health feature's state: which migration this code expects (read once at start-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.health.migration_check import MigrationCheck, newest_migration
from app.wiring.lifespan import Clients, Component


@asynccontextmanager
async def open_health(clients: Clients) -> AsyncIterator[MigrationCheck]:
    yield MigrationCheck(newest_migration())  # no db/migrations: the app does not start


COMPONENT = Component(name="health", open=open_health)
