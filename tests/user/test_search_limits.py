"""Search bounds its work: a query needs enough letters or digits for the trigram index, one
search has a time budget (then 422, never a 503), and each account may search only so often
(429 with Retry-After); other accounts are not slowed or refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.conftest import UserFactory, http_client, login, make_settings, running
from tests.services import TestDatabase, TestRedis


@pytest.mark.parametrize("q", ["%" * 100, "u1_", "a b", "  ab  ", "__%%__"])
async def test_a_query_with_fewer_than_three_letters_or_digits_is_422(
    client: httpx.AsyncClient, make_user: UserFactory, q: str
) -> None:
    auth = await login(client, await make_user())
    response = await client.get("/v1/users/search", params={"q": q}, headers=auth)
    assert response.status_code == 422
    assert "letters or digits" in response.text


@pytest.fixture
async def limited_client(
    database: TestDatabase, redis_db: TestRedis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database, redis_db, search_max_per_window=3, search_statement_timeout_ms=200
    )
    async with running(settings) as app, http_client(app) as client:
        yield client


async def test_searches_beyond_the_accounts_limit_are_429_with_retry_after(
    limited_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(limited_client, await make_user())
    answers = [
        await limited_client.get("/v1/users/search", params={"q": "someone"}, headers=auth)
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 10
    assert answers[-1].json() == {"detail": "Too many requests; retry later"}


async def test_one_accounts_limit_leaves_other_accounts_alone(
    limited_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    busy = await login(limited_client, await make_user())
    for _ in range(4):
        await limited_client.get("/v1/users/search", params={"q": "someone"}, headers=busy)
    other = await login(limited_client, await make_user())
    response = await limited_client.get("/v1/users/search", params={"q": "someone"}, headers=other)
    assert response.status_code == 200


async def test_a_search_over_its_time_budget_is_422_too_broad_not_an_outage(
    limited_client: httpx.AsyncClient, make_user: UserFactory, database: TestDatabase
) -> None:
    auth = await login(limited_client, await make_user())
    owner = await asyncpg.connect(database.url)
    try:
        # A lock the search must wait for: its budget runs out deterministically.
        transaction = owner.transaction()
        await transaction.start()
        await owner.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        try:
            response = await asyncio.wait_for(
                limited_client.get("/v1/users/search", params={"q": "someone"}, headers=auth),
                timeout=5,
            )
        finally:
            await transaction.rollback()
    finally:
        await owner.close()
    assert response.status_code == 422
    assert response.json() == {"detail": "Search too broad; add more letters or digits"}
