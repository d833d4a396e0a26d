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
from utils.redis.windows import WindowCounter


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
        self._attempts = WindowCounter(redis, window_seconds=window_seconds)

    async def count_attempt(self, key: str) -> Attempt:
        """Record one attempt; refused when `max_failures` attempts already failed."""
        number, left = await self._attempts.count(key)
        if number > self._max:
            return Attempt(number=number, retry_after=left)
        return Attempt(number=number, retry_after=None)

    async def reset(self, key: str) -> None:
        await self._redis.delete(key)
