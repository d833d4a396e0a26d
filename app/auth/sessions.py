"""Sessions in Redis: `session:<token>` -> user id, plus a per-user index for logout-all.

Authenticating a request is one Redis round trip: a Lua script reads the session, renews its
lifetime and its index entry, and returns the cached profile (if any) in the same call.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from app.observability.metrics import SESSIONS_CREATED, SESSIONS_REVOKED
from constants import SESSION_KEY_PREFIX, USER_PROFILE_KEY_PREFIX, USER_SESSIONS_KEY_PREFIX

# KEYS[1] session key; ARGV: ttl, now, token, user-sessions prefix, profile prefix.
# The index is a sorted set of token -> expiry time; entries past their time are dead sessions.
AUTHENTICATE_LUA = """
local uid = redis.call('GET', KEYS[1])
if not uid then return false end
local ttl = tonumber(ARGV[1])
redis.call('EXPIRE', KEYS[1], ttl)
local index = ARGV[4] .. uid
redis.call('ZADD', index, tonumber(ARGV[2]) + ttl, ARGV[3])
redis.call('EXPIRE', index, ttl)
local profile = redis.call('HMGET', ARGV[5] .. uid, 'username', 'name')
return {uid, profile[1], profile[2]}
"""

# KEYS[1] user-sessions index; ARGV[1] session prefix. Deletes every session of the user.
REVOKE_ALL_LUA = """
local tokens = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, token in ipairs(tokens) do redis.call('DEL', ARGV[1] .. token) end
redis.call('DEL', KEYS[1])
return #tokens
"""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an authenticated request; profile fields come from the cache when warm."""

    user_id: int
    token: str
    username: str | None = None
    name: str | None = None


def session_key(token: str) -> str:
    return f"{SESSION_KEY_PREFIX}{token}"


def sessions_index_key(user_id: int) -> str:
    return f"{USER_SESSIONS_KEY_PREFIX}{user_id}"


class SessionStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._authenticate = redis.register_script(AUTHENTICATE_LUA)
        self._revoke_all = redis.register_script(REVOKE_ALL_LUA)

    async def create(self, user_id: int) -> str:
        token = str(uuid.uuid4())
        now = int(time.time())
        index = sessions_index_key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(session_key(token), user_id, ex=self._ttl)
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {token: now + self._ttl})
            pipe.expire(index, self._ttl)
            await pipe.execute()
        SESSIONS_CREATED.inc()
        return token

    async def authenticate(self, token: str) -> Principal | None:
        result = await self._authenticate(
            keys=[session_key(token)],
            args=[
                self._ttl,
                int(time.time()),
                token,
                USER_SESSIONS_KEY_PREFIX,
                USER_PROFILE_KEY_PREFIX,
            ],
        )
        if not result:
            return None
        user_id, username, name = result
        return Principal(user_id=int(user_id), token=token, username=username, name=name)

    async def revoke(self, *, token: str, user_id: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(session_key(token))
            pipe.zrem(sessions_index_key(user_id), token)
            deleted, _ = await pipe.execute()
        SESSIONS_REVOKED.inc(int(deleted))

    async def revoke_all(self, user_id: int) -> int:
        revoked = await self._revoke_all(
            keys=[sessions_index_key(user_id)], args=[SESSION_KEY_PREFIX]
        )
        SESSIONS_REVOKED.inc(int(revoked))
        return int(revoked)
