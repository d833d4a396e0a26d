"""The user's (username, name) cached in Redis so `GET /getName` needs no database query.

Writes carry the row's `version`, and the cache only accepts a newer version: a reader that
fetched an old row cannot overwrite a fresher name written by a concurrent `setName`.
"""

from __future__ import annotations

from constants import USER_PROFILE_KEY_PREFIX
from utils.redis.redis import RedisClient

# KEYS[1] profile key; ARGV: version, username, name, ttl.
STORE_IF_NEWER_LUA = """
local current = redis.call('HGET', KEYS[1], 'v')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'username', ARGV[2], 'name', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
"""


def profile_key(user_id: int | str) -> str:
    return f"{USER_PROFILE_KEY_PREFIX}{user_id}"


class ProfileCache:
    def __init__(self, redis: RedisClient, *, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._store = redis.register_script(STORE_IF_NEWER_LUA)

    async def store(self, *, user_id: int, version: int, username: str, name: str) -> None:
        await self._store(keys=[profile_key(user_id)], args=[version, username, name, self._ttl])
