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

# KEYS[1] session key, KEYS[2] its deadline key; ARGV: ttl, now, token, user-sessions prefix,
# profile prefix, max lifetime. The index is a sorted set of token -> expiry time; entries past
# their time are dead sessions. Renewal never goes past the deadline (absolute lifetime); a
# session from before deadlines existed gets one now.
AUTHENTICATE_LUA = """
local uid = redis.call('GET', KEYS[1])
if not uid then return false end
local now = tonumber(ARGV[2])
local deadline = tonumber(redis.call('GET', KEYS[2]) or (now + tonumber(ARGV[6])))
local ttl = math.min(tonumber(ARGV[1]), deadline - now)
if ttl <= 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
    return false
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], deadline, 'EX', ttl)
local index = ARGV[4] .. uid
redis.call('ZADD', index, now + ttl, ARGV[3])
redis.call('EXPIRE', index, tonumber(ARGV[1]))
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


def session_deadline_key(token: str) -> str:
    """The end of the session's absolute lifetime (epoch seconds). The hash tag puts it in the
    Redis Cluster slot of `session:<token>`, so one script may touch both."""
    return f"{{{session_key(token)}}}:deadline"


def sessions_index_key(user_id: int) -> str:
    return f"{USER_SESSIONS_KEY_PREFIX}{user_id}"


class SessionStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int, max_lifetime_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_lifetime = max_lifetime_seconds
        self._authenticate = redis.register_script(AUTHENTICATE_LUA)
        self._revoke_all = redis.register_script(REVOKE_ALL_LUA)

    async def create(self, user_id: int) -> str:
        token = str(uuid.uuid4())
        now = int(time.time())
        ttl = min(self._ttl, self._max_lifetime)
        index = sessions_index_key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(session_key(token), user_id, ex=ttl)
            pipe.set(session_deadline_key(token), now + self._max_lifetime, ex=ttl)
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {token: now + ttl})
            pipe.expire(index, self._ttl)
            await pipe.execute()
        SESSIONS_CREATED.inc()
        return token

    async def authenticate(self, token: str) -> Principal | None:
        result = await self._authenticate(
            keys=[session_key(token), session_deadline_key(token)],
            args=[
                self._ttl,
                int(time.time()),
                token,
                USER_SESSIONS_KEY_PREFIX,
                USER_PROFILE_KEY_PREFIX,
                self._max_lifetime,
            ],
        )
        if not result:
            return None
        user_id, username, name = result
        return Principal(user_id=int(user_id), token=token, username=username, name=name)

    async def revoke(self, *, token: str, user_id: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(session_key(token))  # its count is the sessions revoked
            pipe.delete(session_deadline_key(token))
            pipe.zrem(sessions_index_key(user_id), token)
            deleted, _, _ = await pipe.execute()
        SESSIONS_REVOKED.inc(int(deleted))

    async def revoke_all(self, user_id: int) -> int:
        revoked = await self._revoke_all(
            keys=[sessions_index_key(user_id)], args=[SESSION_KEY_PREFIX]
        )
        SESSIONS_REVOKED.inc(int(revoked))
        return int(revoked)
