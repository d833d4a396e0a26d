"""The Redis pool the app opens (utils/redis/redis.py, `FastPathBlockingPool`): a free
connection is handed over without the parent's wait machinery, a newcomer goes through the
parent's queue while another command waits, a wait is bounded, and `on_wait` hears of every
wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from utils.redis.redis import RedisOptions, close_redis, create_redis


@dataclass
class PoolUnderTest:
    """The app's standalone client, the waits `on_wait` heard of, and connections held as
    commands in flight would hold them (given back when the test ends)."""

    client: Redis
    waits: list[None] = field(default_factory=list)
    held: list[Any] = field(default_factory=list)

    @property
    def pool(self) -> Any:
        return self.client.connection_pool

    async def take_all(self) -> None:
        self.held = [await self.pool.get_connection() for _ in range(2)]

    async def give_back_one(self) -> None:
        await self.pool.release(self.held.pop())

    async def ping(self) -> bool:
        return bool(await self.client.ping())


@pytest.fixture
async def pooled(redis_options: RedisOptions) -> AsyncIterator[PoolUnderTest]:
    if redis_options.cluster:
        pytest.skip("a cluster client keeps a pool per node, not this one")
    waits: list[None] = []
    client = create_redis(replace(redis_options, on_wait=lambda: waits.append(None)))
    assert isinstance(client, Redis)
    under_test = PoolUnderTest(client, waits)
    yield under_test
    while under_test.held:
        await under_test.give_back_one()
    await close_redis(client)


def test_the_parent_still_has_what_the_fast_path_calls() -> None:
    # A redis-py release that renames these breaks the fast path: this fails first.
    for name in ("can_get_connection", "get_available_connection", "ensure_connection"):
        assert callable(getattr(BlockingConnectionPool, name)), name
    assert BlockingConnectionPool(max_connections=1)._in_maintenance is False


async def test_a_free_connection_is_taken_without_the_parents_wait(
    pooled: PoolUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def parent_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the blocking path ran with a connection free")

    monkeypatch.setattr(BlockingConnectionPool, "get_connection", parent_path)
    assert await pooled.ping()
    assert pooled.waits == []


async def test_a_command_waits_for_a_taken_connection_and_is_counted(
    pooled: PoolUnderTest,
) -> None:
    await pooled.take_all()
    waiting = asyncio.create_task(pooled.ping())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert len(pooled.waits) == 1
    await pooled.give_back_one()
    assert await asyncio.wait_for(waiting, 1.0)


async def test_a_wait_gives_up_after_the_pool_timeout(pooled: PoolUnderTest) -> None:
    await pooled.take_all()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await pooled.ping()
    assert 0.15 < loop.time() - started < 1.0
    await pooled.give_back_one()
    assert await pooled.ping()


async def test_while_a_command_waits_the_next_one_goes_through_the_parent(
    pooled: PoolUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast path would let a newcomer take the connection just handed to a waiter; through
    # the parent both queue on its condition as they would without the fast path.
    parent = BlockingConnectionPool.get_connection
    through_parent: list[None] = []

    async def spy(self: BlockingConnectionPool, *args: object, **kwargs: object) -> object:
        through_parent.append(None)
        return await parent(self, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(BlockingConnectionPool, "get_connection", spy)
    await pooled.take_all()
    waiting = asyncio.create_task(pooled.ping())
    await asyncio.sleep(0.05)
    await pooled.give_back_one()  # the waiter is woken, not yet resumed: one connection free
    assert await pooled.ping()
    assert await asyncio.wait_for(waiting, 1.0)
    assert len(through_parent) == 2
