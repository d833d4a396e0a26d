"""Sessions in Redis: `session:<token>` -> user id, plus a per-user index for logout-all.

Keys: per session `session:<token>` (the contract) and `{session:<token>}:deadline` (the end
of its absolute lifetime); per user `user:<id>` (the profile cache) and `{user:<id>}:sessions`
(the index: token -> expiry time). The hash tags put the deadline in the slot of its session
and the index in the slot of `user:<id>`, so on a Redis Cluster one script can touch each pair.

Authenticating is one round trip on standalone Redis: one script reads the session and returns
the cached profile. The user's keys are only known once the session is read, so that script
builds them from the user id; one server holds every key, so that is safe there. On a cluster
they live in another slot than the session: the same work is two round trips, each touching one
slot and declaring its keys.

Renewal (the sliding idle TTL) is a write of three keys: the session's TTL, its deadline key's
and the user's index entry and TTL. A request renews only once a tenth of the idle TTL
(`RENEWAL_STEP`) has passed since the last renewal, which the session's remaining TTL tells;
the requests in between only read (docs/benchmark.md, issue 24). A session therefore ends
between 0.9 and 1 idle TTL after its last use, and never after its deadline: each renewal is
capped by it, and a read that skips the renewal extends nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from string import Template
from typing import cast

from redis.asyncio.cluster import RedisCluster

from app.auth.profile_cache import profile_key
from app.observability.metrics import SESSIONS_CREATED, SESSIONS_REVOKED
from constants import SESSION_KEY_PREFIX, USER_PROFILE_KEY_PREFIX, USER_SESSIONS_KEY_SUFFIX
from utils.redis.redis import RedisClient
from utils.redis.scripts import LuaScript

# A session is renewed once this share of its idle TTL has passed since its last renewal.
RENEWAL_STEP = 0.1

# The scripts are templates: the store's settings ($ttl, $max_lifetime, ...) are written into
# their text, so a request sends the keys and the time alone (each argument is encoded and
# sent with every call; docs/benchmark.md, issue 24).

# KEYS[1] session key, KEYS[2] its deadline key; ARGV[1] now (the app's clock, as at login).
# Leaves the user id in `uid`, and in `ttl` the session's renewed lifetime, or 0 when it was
# renewed less than a renewal step ago and is left as it is. A renewal never goes past the
# deadline (absolute lifetime); a session from before deadlines existed gets one.
_READ_SESSION = """
local uid = redis.call('GET', KEYS[1])
if not uid then return false end
local ttl, now = 0, tonumber(ARGV[1])
local left_ms = redis.call('PTTL', KEYS[1])
if left_ms < 0 or $ttl_ms - left_ms >= $renewal_step_ms then
    local deadline = tonumber(redis.call('GET', KEYS[2]) or (now + $max_lifetime))
    ttl = math.min($ttl, deadline - now)
    if ttl <= 0 then
        redis.call('DEL', KEYS[1], KEYS[2])
        return false
    end
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('SET', KEYS[2], deadline, 'EX', ttl)
end
"""
# Needs `uid`, `now`, `ttl`, `token`, `index`, `profile_key`. The index entry and the index
# are renewed with their session; entries past their time are dead sessions.
_RENEW_INDEX = """
if ttl > 0 then
    redis.call('ZADD', index, now + ttl, token)
    redis.call('EXPIRE', index, $ttl)
end
"""
PROFILE_FIELDS = ("username", "name", "role")
_READ_PROFILE = """
local profile = redis.call('HMGET', profile_key, 'username', 'name', 'role')
return {uid, profile[1], profile[2], profile[3]}
"""

# Standalone: KEYS and ARGV as above.
AUTHENTICATE_LUA = (
    _READ_SESSION
    + """
local profile_key = '$profile_prefix' .. uid
local index = '{' .. profile_key .. '}$index_suffix'
local token = string.sub(KEYS[1], $token_start)
"""
    + _RENEW_INDEX
    + _READ_PROFILE
)
# Cluster, first round trip (the session's slot): KEYS and ARGV as above. Returns the user id, the
# renewed lifetime (0: not renewed).
READ_SESSION_LUA = _READ_SESSION + "return {uid, ttl}\n"
# Cluster, second round trip (the user's slot) after a renewal: KEYS[1] index, KEYS[2]
# profile; ARGV: the user id, the token, the renewed lifetime and its time. Without a renewal
# the second round trip is a plain HMGET of the profile.
RENEW_INDEX_LUA = (
    """
local index, profile_key, uid, token = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local ttl, now = tonumber(ARGV[3]), tonumber(ARGV[4])
"""
    + _RENEW_INDEX
    + _READ_PROFILE
)


def script_text(template: str, *, ttl_seconds: int, max_lifetime_seconds: int) -> str:
    """A script template above with a store's settings written in."""
    return Template(template).substitute(
        ttl=ttl_seconds,
        ttl_ms=ttl_seconds * 1000,
        renewal_step_ms=int(ttl_seconds * 1000 * RENEWAL_STEP),
        max_lifetime=max_lifetime_seconds,
        profile_prefix=USER_PROFILE_KEY_PREFIX,
        index_suffix=USER_SESSIONS_KEY_SUFFIX,
        token_start=len(SESSION_KEY_PREFIX) + 1,
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
        settings = {"ttl_seconds": ttl_seconds, "max_lifetime_seconds": max_lifetime_seconds}
        self._authenticate = LuaScript(redis, script_text(AUTHENTICATE_LUA, **settings))
        self._read_session = LuaScript(redis, script_text(READ_SESSION_LUA, **settings))
        self._renew_index = LuaScript(redis, script_text(RENEW_INDEX_LUA, **settings))

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
        keys = [session_key(token), session_deadline_key(token)]
        now = int(time.time())
        if self._on_cluster:
            session = await self._read_session(keys=keys, args=[now])
            if not session:
                return None
            uid, ttl = session
            if ttl:
                result = await self._renew_index(
                    keys=[sessions_index_key(uid), profile_key(uid)], args=[uid, token, ttl, now]
                )
            else:
                result = [uid, *await self._redis.hmget(profile_key(uid), PROFILE_FIELDS)]
        else:
            result = await self._authenticate(keys=keys, args=[now])
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
