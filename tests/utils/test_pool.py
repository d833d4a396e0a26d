"""The asyncpg pool the app opens: waiters served in arrival order, a bounded wait, and no
extra round trip when a connection goes back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.core.settings import Settings
from app.wiring.connections import open_pool
from tests.conftest import make_settings
from tests.services import TestDatabase, TestRedis
from utils.database.psql import Pool, close_pool


@pytest.fixture
async def one_connection_pool(database: TestDatabase, redis_db: TestRedis) -> AsyncIterator[Pool]:
    settings: Settings = make_settings(
        database, redis_db, db_pool_min_size=1, db_pool_max_size=1, db_acquire_timeout=2.0
    )
    pool = await open_pool(settings)
    yield pool
    await close_pool(pool)


async def test_connections_go_to_waiters_in_the_order_they_asked(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    pool = await open_pool(make_settings(database, redis_db, db_pool_max_size=2))
    asked = itertools.count()
    served: list[int] = []

    async def client() -> None:
        for _ in range(20):
            ticket = next(asked)
            async with pool.acquire() as connection:
                served.append(ticket)
                await connection.execute("SELECT 1")
            await asyncio.sleep(0)

    # asyncpg's own queue lets a coroutine that asks just as a connection comes back take it
    # ahead of those already waiting (and the woken waiter then queues again at the back).
    try:
        await asyncio.gather(*(client() for _ in range(30)))
    finally:
        await close_pool(pool)
    overtaken = sum(1 for before, after in itertools.pairwise(served) if after < before)
    assert overtaken == 0
    assert len(served) == 600


async def test_acquire_gives_up_after_the_acquire_timeout(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    pool = await open_pool(
        make_settings(
            database, redis_db, db_pool_min_size=1, db_pool_max_size=1, db_acquire_timeout=0.2
        )
    )
    try:
        async with pool.acquire():
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TimeoutError):
                await pool.fetchval("SELECT 1")
            assert 0.15 < loop.time() - started < 1.0
        # The slot of the timed-out waiter was given back: the pool still serves.
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await close_pool(pool)


async def test_releasing_a_connection_sends_no_reset_query(one_connection_pool: Pool) -> None:
    sent: list[str] = []
    async with one_connection_pool.acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
        await connection.execute("SELECT 1")
    async with one_connection_pool.acquire() as connection:
        await connection.execute("SELECT 2")
    assert sent == ["SELECT 1", "SELECT 2"]


async def test_a_transaction_left_open_is_rolled_back_on_release(one_connection_pool: Pool) -> None:
    connection = await one_connection_pool.acquire()
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("CREATE TEMPORARY TABLE left_open (id int)")
    await one_connection_pool.release(connection)
    async with one_connection_pool.acquire() as connection:
        with pytest.raises(asyncpg.UndefinedTableError):
            await connection.execute("SELECT * FROM left_open")
