"""The user's (username, name, role) cached in Redis so `GET /getName` (and the gateway's
identity headers) need no database query.

Writes carry the row's `version`, and the cache only accepts a newer version: a reader that
fetched an old row cannot overwrite a fresher name written by a concurrent `setName`. An entry
without a role (written before roles existed) takes the same version once, to gain it.
"""

from __future__ import annotations

from constants import USER_PROFILE_KEY_PREFIX
from utils.redis.redis import RedisClient
from utils.redis.scripts import LuaScript

# KEYS[1] profile key; ARGV: version, username, name, ttl, role.
STORE_IF_NEWER_LUA = """
local current = redis.call('HGET', KEYS[1], 'v')
if current and tonumber(current) >= tonumber(ARGV[1])
   and (tonumber(current) > tonumber(ARGV[1]) or redis.call('HEXISTS', KEYS[1], 'role') == 1)
then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'username', ARGV[2], 'name', ARGV[3], 'role', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
"""


def profile_key(user_id: int | str) -> str:
    return f"{USER_PROFILE_KEY_PREFIX}{user_id}"


class ProfileCache:
    def __init__(self, redis: RedisClient, *, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._store = LuaScript(redis, STORE_IF_NEWER_LUA)

    async def store(
        self, *, user_id: int, version: int, username: str, name: str, role: str = "user"
    ) -> None:
        await self._store(
            keys=[profile_key(user_id)], args=[version, username, name, self._ttl, role]
        )
