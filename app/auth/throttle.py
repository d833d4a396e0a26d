"""Failed-login counting per (account, client address) in Redis, with a fixed window.

The key names what the database resolved, never the text the client typed: the account id when
the username matches one, else PostgreSQL's `lower()` of it (the folding the lookup itself uses).
Any spelling that reaches an account (`ALICE`, `alİce`) therefore shares that account's bucket.

Every attempt is counted before the password is checked, in one atomic step (INCR, and EXPIRE on
the first attempt of a window): parallel attempts cannot all pass a check made before any of
them was recorded. A successful login deletes the counter.
"""

from __future__ import annotations

from dataclasses import dataclass

from constants import LOGIN_FAILURES_KEY_PREFIX
from utils.redis.redis import RedisClient

# KEYS[1] the counter (one key: the script runs on a Redis Cluster too); ARGV[1] the window.
# Returns the attempts in this window (this one included) and the seconds the window has left.
COUNT_ATTEMPT_LUA = """
local attempts = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {attempts, ttl}
"""


def throttle_key(*, account_id: int | None, folded_username: str, client: str) -> str:
    subject = f"id:{account_id}" if account_id is not None else f"name:{folded_username}"
    return f"{LOGIN_FAILURES_KEY_PREFIX}{subject}:{client}"


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int  # attempts in the current window, this one included
    retry_after: int | None  # seconds the caller must wait; None when it may try


class LoginThrottle:
    def __init__(self, redis: RedisClient, *, max_failures: int, window_seconds: int) -> None:
        self._redis = redis
        self._max = max_failures
        self._window = window_seconds
        self._count = redis.register_script(COUNT_ATTEMPT_LUA)

    async def count_attempt(self, key: str) -> Attempt:
        """Record one attempt; refused when `max_failures` attempts already failed."""
        attempts, ttl = await self._count(keys=[key], args=[self._window])
        number = int(attempts)
        if number > self._max:
            return Attempt(number=number, retry_after=max(int(ttl), 1))
        return Attempt(number=number, retry_after=None)

    async def reset(self, key: str) -> None:
        await self._redis.delete(key)
