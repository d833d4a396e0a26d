"""A worker handles at most MAX_REQUESTS_IN_FLIGHT requests at once; beyond it, a JSON 503 with
Retry-After at once. The held request is a real one at work: a rename waiting for a row lock
that the test holds (a request waiting for its body does not count: test_in_flight_bodies.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from app.core.settings import Settings
from tests.conftest import UserFactory, http_client, login, running
from tests.services import TestDatabase


@asynccontextmanager
async def rename_at_work(
    client: httpx.AsyncClient, database: TestDatabase, make_user: UserFactory
) -> AsyncIterator[asyncio.Task[httpx.Response]]:
    """A POST /setName inside the app, waiting for the user's row, which the test locks; the
    lock is released on exit (well within the app's statement timeout)."""
    user = await make_user()
    auth = await login(client, user)
    conn = await asyncpg.connect(database.url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user.id)
            rename = asyncio.create_task(
                client.post("/setName", json={"name": "held"}, headers=auth)
            )
            await asyncio.sleep(0.2)  # the rename is in the app, waiting for the row
            yield rename
    finally:
        await conn.close()


async def with_one_request_at_work(
    settings: Settings, database: TestDatabase, make_user: UserFactory, paths: tuple[str, ...]
) -> tuple[list[httpx.Response], httpx.Response]:
    """Answers to GET `paths` while one POST /setName is at work, then the rename's."""
    async with running(settings) as app, http_client(app) as client:
        async with rename_at_work(client, database, make_user) as rename:
            answers = [await client.get(path) for path in paths]
        return answers, await rename


async def test_a_request_beyond_the_bound_is_shed_with_json_503_and_retry_after(
    settings: Settings, database: TestDatabase, make_user: UserFactory
) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 1})
    (shed,), rename = await with_one_request_at_work(bounded, database, make_user, ("/v1/hello",))
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.headers["cache-control"] == "no-store"
    assert shed.headers["x-request-id"]
    assert shed.json() == {
        "detail": "Too many requests in progress; retry shortly",
        "dependency": "worker",
    }
    assert rename.status_code == 200  # the held request itself completes normally


async def test_requests_within_the_bound_are_served(
    settings: Settings, database: TestDatabase, make_user: UserFactory
) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 2})
    (hello,), _ = await with_one_request_at_work(bounded, database, make_user, ("/v1/hello",))
    assert hello.status_code == 200


async def test_health_checks_are_never_shed(
    settings: Settings, database: TestDatabase, make_user: UserFactory
) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 1})
    (live,), _ = await with_one_request_at_work(bounded, database, make_user, ("/health/live",))
    assert live.status_code == 200


async def test_zero_means_no_bound(
    settings: Settings, database: TestDatabase, make_user: UserFactory
) -> None:
    unbounded = settings.model_copy(update={"max_requests_in_flight": 0})
    (hello,), _ = await with_one_request_at_work(unbounded, database, make_user, ("/v1/hello",))
    assert hello.status_code == 200
