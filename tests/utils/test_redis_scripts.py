"""`LuaScript` (utils/redis/scripts.py): runs by digest, and loads itself again on a server
that forgot it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from utils.redis.redis import RedisClient, RedisOptions, close_redis, create_redis
from utils.redis.scripts import LuaScript

# Unique text: the test's own digest, so flushing it cannot touch another user's scripts.
ECHO_LUA = "-- {marker}\nreturn {{KEYS[1], ARGV[1]}}"


@pytest.fixture
async def client(redis_options: RedisOptions) -> AsyncIterator[RedisClient]:
    redis = create_redis(redis_options)
    yield redis
    await close_redis(redis)


async def test_a_script_returns_what_lua_returns(client: RedisClient) -> None:
    script = LuaScript(client, ECHO_LUA.format(marker=uuid.uuid4()))
    assert await script(keys=["k"], args=["v"]) == ["k", "v"]


async def test_a_script_the_server_does_not_know_is_loaded_and_run(client: RedisClient) -> None:
    script = LuaScript(client, ECHO_LUA.format(marker=uuid.uuid4()))
    assert await client.script_exists(script.sha) in ([False], [[False]], [0], False)
    assert await script(keys=["k"], args=["v"]) == ["k", "v"]
    assert await script(keys=["k"], args=["w"]) == ["k", "w"]
