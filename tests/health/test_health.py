"""Liveness and readiness (dependencies up, and the schema of this code applied)."""

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.health.migration_check import newest_migration
from tests.conftest import http_client, make_settings, running
from tests.services import TestDatabase, TestRedis


async def test_live_answers_while_the_process_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_postgres_and_redis_answer_and_the_schema_is_current(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"postgres": "ok", "redis": "ok", "schema": "ok"},
    }


@pytest.fixture
async def database_behind() -> AsyncIterator[TestDatabase]:
    """A migrated scratch database whose newest migration is recorded under another version:
    to the app, the deploy's migration has not run yet."""
    db = await TestDatabase.create()
    conn = await asyncpg.connect(db.url)
    try:
        await conn.execute(
            "UPDATE schema_migrations SET version = '0' WHERE version = $1", newest_migration()
        )
    finally:
        await conn.close()
    yield db
    await db.drop()


async def _applied(db: TestDatabase) -> list[str]:
    conn = await asyncpg.connect(db.url)
    try:
        return [row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()


async def test_not_ready_while_the_newest_migration_is_missing_and_it_says_which_once(
    database_behind: TestDatabase, redis_db: TestRedis, capfd: pytest.CaptureFixture[str]
) -> None:
    async with running(make_settings(database_behind, redis_db)) as app, http_client(app) as c:
        first, second = await c.get("/health/ready"), await c.get("/health/ready")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json()["checks"] == {"postgres": "ok", "redis": "ok", "schema": "behind"}
    logged = capfd.readouterr().out
    assert logged.count(f"migration {newest_migration()} is not applied") == 1


async def test_ready_once_the_migration_ran_and_the_app_never_migrates_by_itself(
    database_behind: TestDatabase, redis_db: TestRedis
) -> None:
    async with running(make_settings(database_behind, redis_db)) as app, http_client(app) as c:
        assert (await c.get("/health/ready")).status_code == 503
        assert newest_migration() not in await _applied(database_behind)
        conn = await asyncpg.connect(database_behind.url)  # the migration job, as the owner
        try:
            await conn.execute(
                "UPDATE schema_migrations SET version = $1 WHERE version = '0'", newest_migration()
            )
        finally:
            await conn.close()
        assert (await c.get("/health/ready")).status_code == 200
