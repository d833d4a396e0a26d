"""Sessions in Redis: `session:<token>` -> user id, plus a per-user index for logout-all.

Keys: per session `session:<token>` (the contract) and `{session:<token>}:deadline` (the end
of its absolute lifetime); per user `user:<id>` (the profile cache) and `{user:<id>}:sessions`
(the index: token -> expiry time). The hash tags put the deadline in the slot of its session
and the index in the slot of `user:<id>`, so on a Redis Cluster one script can touch each pair.

Authenticating is one round trip on standalone Redis: one script reads the session, renews it
(never past its deadline) and its index entry, and returns the cached profile. The user's keys
are only known once the session is read, so that script builds them from the user id; one
server holds every key, so that is safe there. On a cluster they live in another slot than the
session: the same work is two scripts, each touching one slot and declaring its keys (two
round trips).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import cast

from redis.asyncio.cluster import RedisCluster

from app.auth.profile_cache import profile_key
from app.observability.metrics import SESSIONS_CREATED, SESSIONS_REVOKED
from constants import SESSION_KEY_PREFIX, USER_PROFILE_KEY_PREFIX, USER_SESSIONS_KEY_SUFFIX
from utils.redis.redis import RedisClient

# KEYS[1] session key, KEYS[2] its deadline key; ARGV: ttl, now, token, max lifetime. Leaves
# the user id in `uid`, and in `ttl` the session's renewed lifetime: never past the deadline
# (absolute lifetime); a session from before deadlines existed gets one now.
_RENEW_SESSION = """
local uid = redis.call('GET', KEYS[1])
if not uid then return false end
local now = tonumber(ARGV[2])
local deadline = tonumber(redis.call('GET', KEYS[2]) or (now + tonumber(ARGV[4])))
local ttl = math.min(tonumber(ARGV[1]), deadline - now)
if ttl <= 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
    return false
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], deadline, 'EX', ttl)
"""
# Needs `uid`, `now`, `ttl`, `index`, `profile_key`; ARGV[1] ttl, ARGV[3] token. Entries of
# the index past their time are dead sessions.
_RENEW_INDEX_READ_PROFILE = """
redis.call('ZADD', index, now + ttl, ARGV[3])
redis.call('EXPIRE', index, ARGV[1])
local profile = redis.call('HMGET', profile_key, 'username', 'name', 'role')
return {uid, profile[1], profile[2], profile[3]}
"""

# Standalone: KEYS[1] session key, KEYS[2] its deadline key; ARGV: ttl, now, token, max
# lifetime, profile prefix, index suffix.
AUTHENTICATE_LUA = (
    _RENEW_SESSION
    + """
local profile_key = ARGV[5] .. uid
local index = '{' .. profile_key .. '}' .. ARGV[6]
"""
    + _RENEW_INDEX_READ_PROFILE
)
# Cluster, first round trip (the session's slot): KEYS and ARGV as above, without the last two
# ARGV. Returns the user id and the renewed lifetime.
RENEW_SESSION_LUA = _RENEW_SESSION + "return {uid, ttl}\n"
# Cluster, second round trip (the user's slot): KEYS[1] index, KEYS[2] profile; ARGV: ttl,
# now, token, user id, the session's renewed lifetime.
RENEW_INDEX_LUA = (
    """
local uid, index, profile_key = ARGV[4], KEYS[1], KEYS[2]
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[5])
"""
    + _RENEW_INDEX_READ_PROFILE
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an authenticated request; profile fields come from the cache when warm."""

    user_id: int
    token: str
    username: str | None = None
    name: str | None = None
    role: str | None = None  # None: not cached (the database knows)


def session_key(token: str) -> str:
    return f"{SESSION_KEY_PREFIX}{token}"


def session_deadline_key(token: str) -> str:
    """The end of the session's absolute lifetime (epoch seconds). The hash tag puts it in the
    Redis Cluster slot of `session:<token>`, so one script may touch both."""
    return f"{{{session_key(token)}}}:deadline"


def sessions_index_key(user_id: int | str) -> str:
    return f"{{{profile_key(user_id)}}}{USER_SESSIONS_KEY_SUFFIX}"


class SessionStore:
    def __init__(self, redis: RedisClient, *, ttl_seconds: int, max_lifetime_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_lifetime = max_lifetime_seconds
        self._on_cluster = isinstance(redis, RedisCluster)
        self._authenticate = redis.register_script(AUTHENTICATE_LUA)
        self._renew_session = redis.register_script(RENEW_SESSION_LUA)
        self._renew_index = redis.register_script(RENEW_INDEX_LUA)

    async def create(self, user_id: int) -> str:
        token = str(uuid.uuid4())
        now = int(time.time())
        ttl = min(self._ttl, self._max_lifetime)
        index = sessions_index_key(user_id)
        # Not atomic, and it need not be: the caller sees the token only if every command
        # succeeded. A cluster pipeline sends each slot's commands to its node.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {token: now + ttl})
            pipe.expire(index, self._ttl)
            pipe.set(session_deadline_key(token), now + self._max_lifetime, ex=ttl)
            pipe.set(session_key(token), user_id, ex=ttl)
            await pipe.execute()
        SESSIONS_CREATED.inc()
        return token

    async def authenticate(self, token: str) -> Principal | None:
        now = int(time.time())
        keys = [session_key(token), session_deadline_key(token)]
        if self._on_cluster:
            renewed = await self._renew_session(
                keys=keys, args=[self._ttl, now, token, self._max_lifetime]
            )
            if not renewed:
                return None
            uid, ttl = renewed
            result = await self._renew_index(
                keys=[sessions_index_key(uid), profile_key(uid)],
                args=[self._ttl, now, token, uid, ttl],
            )
        else:
            result = await self._authenticate(
                keys=keys,
                args=[
                    self._ttl,
                    now,
                    token,
                    self._max_lifetime,
                    USER_PROFILE_KEY_PREFIX,
                    USER_SESSIONS_KEY_SUFFIX,
                ],
            )
        if not result:
            return None
        user_id, username, name, role = result
        return Principal(user_id=int(user_id), token=token, username=username, name=name, role=role)

    async def revoke(self, *, token: str, user_id: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(session_key(token))  # its count is the sessions revoked
            pipe.delete(session_deadline_key(token))
            pipe.zrem(sessions_index_key(user_id), token)
            deleted, _, _ = await pipe.execute()
        SESSIONS_REVOKED.inc(int(deleted))

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        """Delete every session of the user but `keep` (the caller's, after a password change).
        The sessions go first and their index entries after, so a failure half way leaves the
        index able to find them on a retry; a login that races with this keeps its new session."""
        index = sessions_index_key(user_id)
        tokens = cast(list[str], await self._redis.zrange(index, 0, -1))  # decoded
        tokens = [token for token in tokens if token != keep]
        if not tokens:
            return 0
        # One DEL per key: on a cluster the sessions live in many slots.
        async with self._redis.pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.delete(session_key(token))
                pipe.delete(session_deadline_key(token))
            deleted = await pipe.execute()
        await self._redis.zrem(index, *tokens)
        revoked = sum(int(n) for n in deleted[::2])  # sessions, not their deadline keys
        SESSIONS_REVOKED.inc(revoked)
        return revoked
