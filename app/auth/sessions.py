"""Sessions in Redis: `session:<token>` -> user id, plus a per-user index for logout-all.

Keys: `session:<token>` (the contract), and per user `user:<id>` (the profile cache) and
`{user:<id>}:sessions` (the index: token -> expiry time). The hash tag puts a user's index in
the slot of `user:<id>`, so on a Redis Cluster one script can touch both.

Authenticating is one round trip on standalone Redis: one script reads the session, renews it
and its index entry, and returns the cached profile. The user's keys are only known once the
session is read, so that script builds them from the user id; one server holds every key, so
that is safe there. On a cluster they live in another slot than the session: the same work is
two scripts, each touching one slot and declaring its keys (two round trips).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import cast

from redis.asyncio.cluster import RedisCluster

from app.user.profile_cache import profile_key
from constants import SESSION_KEY_PREFIX, USER_PROFILE_KEY_PREFIX, USER_SESSIONS_KEY_SUFFIX
from utils.redis.redis import RedisClient

# KEYS[1] session key; ARGV[1] ttl. Leaves the user id in `uid`.
_RENEW_SESSION = """
local uid = redis.call('GET', KEYS[1])
if not uid then return false end
redis.call('EXPIRE', KEYS[1], ARGV[1])
"""
# Needs `uid`, `index`, `profile_key`; ARGV: ttl, now, token. Entries of the index past their
# time are dead sessions.
_RENEW_INDEX_READ_PROFILE = """
redis.call('ZADD', index, tonumber(ARGV[2]) + tonumber(ARGV[1]), ARGV[3])
redis.call('EXPIRE', index, ARGV[1])
local profile = redis.call('HMGET', profile_key, 'username', 'name')
return {uid, profile[1], profile[2]}
"""

# Standalone: KEYS[1] session key; ARGV: ttl, now, token, profile prefix, index suffix.
AUTHENTICATE_LUA = (
    _RENEW_SESSION
    + """
local profile_key = ARGV[4] .. uid
local index = '{' .. profile_key .. '}' .. ARGV[5]
"""
    + _RENEW_INDEX_READ_PROFILE
)
# Cluster, first round trip (the session's slot): KEYS[1] session key; ARGV[1] ttl.
RENEW_SESSION_LUA = _RENEW_SESSION + "return uid\n"
# Cluster, second round trip (the user's slot): KEYS[1] index, KEYS[2] profile; ARGV: ttl,
# now, token, user id.
RENEW_INDEX_LUA = (
    "local uid, index, profile_key = ARGV[4], KEYS[1], KEYS[2]\n" + _RENEW_INDEX_READ_PROFILE
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an authenticated request; profile fields come from the cache when warm."""

    user_id: int
    token: str
    username: str | None = None
    name: str | None = None


def session_key(token: str) -> str:
    return f"{SESSION_KEY_PREFIX}{token}"


def sessions_index_key(user_id: int | str) -> str:
    return f"{{{profile_key(user_id)}}}{USER_SESSIONS_KEY_SUFFIX}"


class SessionStore:
    def __init__(self, redis: RedisClient, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._on_cluster = isinstance(redis, RedisCluster)
        self._authenticate = redis.register_script(AUTHENTICATE_LUA)
        self._renew_session = redis.register_script(RENEW_SESSION_LUA)
        self._renew_index = redis.register_script(RENEW_INDEX_LUA)

    async def create(self, user_id: int) -> str:
        token = str(uuid.uuid4())
        now = int(time.time())
        index = sessions_index_key(user_id)
        # Not atomic, and it need not be: the caller sees the token only if every command
        # succeeded. A cluster pipeline sends each slot's commands to its node.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {token: now + self._ttl})
            pipe.expire(index, self._ttl)
            pipe.set(session_key(token), user_id, ex=self._ttl)
            await pipe.execute()
        return token

    async def authenticate(self, token: str) -> Principal | None:
        now = int(time.time())
        if self._on_cluster:
            uid = await self._renew_session(keys=[session_key(token)], args=[self._ttl])
            if not uid:
                return None
            result = await self._renew_index(
                keys=[sessions_index_key(uid), profile_key(uid)],
                args=[self._ttl, now, token, uid],
            )
        else:
            result = await self._authenticate(
                keys=[session_key(token)],
                args=[self._ttl, now, token, USER_PROFILE_KEY_PREFIX, USER_SESSIONS_KEY_SUFFIX],
            )
        if not result:
            return None
        user_id, username, name = result
        return Principal(user_id=int(user_id), token=token, username=username, name=name)

    async def revoke(self, *, token: str, user_id: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(session_key(token))
            pipe.zrem(sessions_index_key(user_id), token)
            await pipe.execute()

    async def revoke_all(self, user_id: int) -> int:
        """Delete every session of the user. The sessions go first and their index entries
        after, so a failure half way leaves the index able to find them on a retry; a login
        that races with this keeps its new session."""
        index = sessions_index_key(user_id)
        tokens = cast(list[str], await self._redis.zrange(index, 0, -1))  # decoded
        if not tokens:
            return 0
        # One DEL per key: on a cluster the sessions live in many slots.
        async with self._redis.pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.delete(session_key(token))
            await pipe.execute()
        await self._redis.zrem(index, *tokens)
        return len(tokens)
