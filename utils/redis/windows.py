"""Counting events per key in a fixed time window, atomically (one script, one key, so it runs
on a Redis Cluster too)."""

from __future__ import annotations

from typing import Final

from utils.redis.redis import RedisClient
from utils.redis.scripts import LuaScript

# KEYS[1] the counter; ARGV[1] the window in seconds. INCR, and EXPIRE on the window's first
# event. Returns the events in this window (this one included) and the seconds it has left.
COUNT_IN_WINDOW_LUA: Final = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class WindowCounter:
    def __init__(self, redis: RedisClient, *, window_seconds: int) -> None:
        self._window = window_seconds
        self._count = LuaScript(redis, COUNT_IN_WINDOW_LUA)

    async def count(self, key: str) -> tuple[int, int]:
        """Record one event under `key`: (events in the window so far, seconds it has left)."""
        count, ttl = await self._count(keys=[key], args=[self._window])
        return int(count), max(int(ttl), 1)
