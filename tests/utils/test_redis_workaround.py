"""The redis-py workaround (utils/redis/redis.py, `is_write_on_closed_connection`) is still
needed: a write racing a disconnect raises AttributeError instead of ConnectionError
(redis/redis-py#4287). When a redis-py release fixes it, the first test fails: then remove the
workaround and its two handlers in app/http/errors.py."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.services import TestRedis
from utils.redis.redis import is_write_on_closed_connection


async def write_racing_a_disconnect(redis_db: TestRedis) -> BaseException | None:
    """Send a command while another task drops the same connection (a cluster client closes
    every connection after a failover while requests are in flight)."""
    connection = Connection(**ConnectionPool.from_url(redis_db.url).connection_kwargs)
    await connection.connect()  # type: ignore[no-untyped-call]

    async def use() -> None:
        await connection.send_command("PING", check_health=False)
        await connection.read_response()

    outcome, _ = await asyncio.gather(
        use(), connection.disconnect(nowait=True), return_exceptions=True
    )
    await connection.disconnect()
    return outcome if isinstance(outcome, BaseException) else None


async def test_redis_py_still_raises_a_non_connection_error_on_this_race(
    redis_db: TestRedis,
) -> None:
    raised = await write_racing_a_disconnect(redis_db)
    assert not isinstance(raised, RedisConnectionError), (
        "redis-py now raises ConnectionError here (redis/redis-py#4287 fixed): remove "
        "is_write_on_closed_connection and its handlers in app/http/errors.py"
    )
    assert isinstance(raised, AttributeError | TypeError), raised


async def test_the_workaround_recognises_the_error_of_the_race(redis_db: TestRedis) -> None:
    raised = await write_racing_a_disconnect(redis_db)
    assert raised is not None
    assert is_write_on_closed_connection(raised)


def test_the_workaround_leaves_our_own_attribute_errors_alone() -> None:
    with pytest.raises(AttributeError) as raised:
        None.missing  # type: ignore[attr-defined]  # noqa: B018
    assert not is_write_on_closed_connection(raised.value)
