"""Dependencies that go away: fast 503 JSON while they are down, recovery with no restart.

Each test owns a throwaway redis-server or PostgreSQL cluster on a spare port and stops it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.auth.accounts import create_user
from app.core.settings import Settings
from tests.conftest import RunningApp, http_client, make_settings, running
from tests.services import TestDatabase, TestRedis, as_app_user, load_schema
from tools.devstack.throwaway import ThrowawayPostgres, ThrowawayRedis, free_port

pytestmark = pytest.mark.faults
BUDGET_SECONDS = 2.0


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def throwaway_postgres() -> AsyncIterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    server.start()
    await load_schema(server.url)
    yield server
    server.destroy()


async def timed(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: object
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return response, time.perf_counter() - started


async def _create_user(app: RunningApp, username: str) -> None:
    await create_user(
        pool=app.state.pool,
        hasher=app.state.hasher,
        username=username,
        password="pw-123456",
        name="Faulty",
    )


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/login", json={"username": username, "password": "pw-123456"})
    assert response.status_code == 200, response.text
    return {"Authorization": response.headers["Authorization"]}


@asynccontextmanager
async def app_with_user(
    settings: Settings, username: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The app in its lifespan, a client, and the auth headers of a fresh user."""
    async with running(settings) as app, http_client(app) as client:
        await _create_user(app, username)
        yield client, await _login(client, username)


def assert_unavailable(response: httpx.Response, elapsed: float, dependency: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["dependency"] == dependency
    assert response.headers["retry-after"]
    assert elapsed < BUDGET_SECONDS


async def test_redis_down_gives_fast_503_and_recovers_without_restart(
    database: TestDatabase, redis_db: TestRedis, throwaway_redis: ThrowawayRedis
) -> None:
    settings: Settings = make_settings(database, redis_db, redis_url=throwaway_redis.url)
    async with app_with_user(settings, "redis-fault-user") as (client, auth):
        throwaway_redis.stop()
        for method, url in (("GET", "/getName"), ("POST", "/logout")):
            response, elapsed = await timed(client, method, url, headers=auth)
            assert_unavailable(response, elapsed, "redis")
        response, elapsed = await timed(
            client, "POST", "/login", json={"username": "redis-fault-user", "password": "x"}
        )
        assert_unavailable(response, elapsed, "redis")
        assert (await client.get("/v1/hello")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 503

        throwaway_redis.start()  # an empty Redis: old sessions are gone, new logins work
        auth = await _login(client, "redis-fault-user")
        assert (await client.get("/getName", headers=auth)).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200


async def test_hung_redis_gives_503_within_budget_and_recovers(
    database: TestDatabase, redis_db: TestRedis, throwaway_redis: ThrowawayRedis
) -> None:
    settings = make_settings(database, redis_db, redis_url=throwaway_redis.url)
    async with app_with_user(settings, "redis-hang-user") as (client, auth):
        throwaway_redis.pause()
        try:
            response, elapsed = await timed(client, "GET", "/getName", headers=auth)
            assert_unavailable(response, elapsed, "redis")
            assert (await client.get("/v1/hello")).status_code == 200
        finally:
            throwaway_redis.resume()
        assert (await client.get("/getName", headers=auth)).status_code == 200


async def test_postgres_down_gives_fast_503_and_pool_recovers(
    throwaway_postgres: ThrowawayPostgres, redis_db: TestRedis, database: TestDatabase
) -> None:
    settings = make_settings(database, redis_db, database_url=as_app_user(throwaway_postgres.url))
    async with app_with_user(settings, "pg-fault-user") as (client, auth):
        throwaway_postgres.stop()
        response, elapsed = await timed(
            client, "POST", "/setName", json={"name": "During"}, headers=auth
        )
        assert_unavailable(response, elapsed, "postgres")
        response, elapsed = await timed(
            client, "POST", "/login", json={"username": "pg-fault-user", "password": "x"}
        )
        assert_unavailable(response, elapsed, "postgres")
        assert (await client.get("/v1/hello")).status_code == 200
        ready, elapsed = await timed(client, "GET", "/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["postgres"] != "ok"

        throwaway_postgres.start()
        response = await client.post("/setName", json={"name": "After"}, headers=auth)
        assert response.status_code == 200, response.text
        assert (await client.get("/getName", headers=auth)).json()["name"] == "After"
        assert (await client.get("/health/ready")).status_code == 200


async def test_app_starts_while_postgres_is_down_and_reports_not_ready(
    redis_db: TestRedis, database: TestDatabase
) -> None:
    closed_port = free_port()
    settings = make_settings(
        database, redis_db, database_url=f"postgresql://postgres@127.0.0.1:{closed_port}/x"
    )
    async with running(settings) as app, http_client(app) as client:
        response, elapsed = await timed(client, "GET", "/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["postgres"] != "ok"
        assert response.json()["checks"]["redis"] == "ok"
        assert elapsed < BUDGET_SECONDS
        assert (await client.get("/health/live")).status_code == 200
