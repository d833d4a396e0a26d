"""The Redis pool the app opens (utils/redis/redis.py, `FastPathBlockingPool`): a free
connection is handed over without the parent's wait machinery, a newcomer goes through the
parent's queue while another command waits, a wait is bounded, and `on_wait` hears of every
wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.services import TestRedis
from utils.redis.redis import RedisOptions, close_redis, create_redis


@pytest.fixture
async def client_and_waits(redis_db: TestRedis) -> AsyncIterator[tuple[Redis, list[None]]]:
    if redis_db.cluster:
        pytest.skip("a cluster client keeps a pool per node, not this one")
    seen: list[None] = []
    client = create_redis(
        RedisOptions(
            url=redis_db.url,
            max_connections=2,
            pool_timeout=0.2,
            socket_timeout=2.0,
            connect_timeout=2.0,
            health_check_interval=0,
            on_wait=lambda: seen.append(None),
        )
    )
    assert isinstance(client, Redis)
    yield client, seen
    await close_redis(client)


async def take(pool: object, count: int) -> list[object]:
    """Hold `count` of the pool's connections, as commands in flight would."""
    return [await pool.get_connection() for _ in range(count)]  # type: ignore[attr-defined]


async def ping(client: Redis) -> bool:
    return bool(await client.ping())


def test_the_parent_still_has_what_the_fast_path_calls() -> None:
    # A redis-py release that renames these breaks the fast path: this fails first.
    for name in ("can_get_connection", "get_available_connection", "ensure_connection"):
        assert callable(getattr(BlockingConnectionPool, name)), name
    assert BlockingConnectionPool(max_connections=1)._in_maintenance is False


async def test_a_free_connection_is_taken_without_the_parents_wait(
    client_and_waits: tuple[Redis, list[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, seen = client_and_waits

    async def parent_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the blocking path ran with a connection free")

    monkeypatch.setattr(BlockingConnectionPool, "get_connection", parent_path)
    assert await client.ping()
    assert seen == []


async def test_a_command_waits_for_a_taken_connection_and_is_counted(
    client_and_waits: tuple[Redis, list[None]],
) -> None:
    client, seen = client_and_waits
    pool = client.connection_pool
    held = await take(pool, 2)
    waiting = asyncio.create_task(ping(client))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert len(seen) == 1
    await pool.release(held.pop())  # type: ignore[arg-type]
    assert await asyncio.wait_for(waiting, 1.0)
    await pool.release(held.pop())  # type: ignore[arg-type]


async def test_a_wait_gives_up_after_the_pool_timeout(
    client_and_waits: tuple[Redis, list[None]],
) -> None:
    client, _ = client_and_waits
    pool = client.connection_pool
    held = await take(pool, 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await client.ping()
    assert 0.15 < loop.time() - started < 1.0
    for connection in held:
        await pool.release(connection)  # type: ignore[arg-type]
    assert await client.ping()


async def test_while_a_command_waits_the_next_one_goes_through_the_parent(
    client_and_waits: tuple[Redis, list[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast path would let a newcomer take the connection just handed to a waiter; through
    # the parent both queue on its condition as they would without the fast path.
    client, _ = client_and_waits
    pool = client.connection_pool
    parent = BlockingConnectionPool.get_connection
    through_parent: list[None] = []

    async def spy(self: BlockingConnectionPool, *args: object, **kwargs: object) -> object:
        through_parent.append(None)
        return await parent(self, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(BlockingConnectionPool, "get_connection", spy)
    held = await take(pool, 2)
    waiting = asyncio.create_task(ping(client))
    await asyncio.sleep(0.05)
    await pool.release(held.pop())  # type: ignore[arg-type]  # the waiter is woken, not yet resumed: one connection free
    assert await client.ping()
    assert await asyncio.wait_for(waiting, 1.0)
    assert len(through_parent) == 2
    await pool.release(held.pop())  # type: ignore[arg-type]
