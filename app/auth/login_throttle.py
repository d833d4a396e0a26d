"""Failed-login counting per (username, client address) in Redis, with a fixed window."""

from __future__ import annotations

from dataclasses import dataclass

from constants import LOGIN_FAILURES_KEY_PREFIX
from utils.redis.redis import RedisClient


def throttle_key(username: str, client: str) -> str:
    return f"{LOGIN_FAILURES_KEY_PREFIX}{username.lower()}:{client}"


@dataclass(frozen=True, slots=True)
class ThrottleState:
    failures: int
    retry_after: int | None  # seconds the caller must wait; None when it may try


class LoginThrottle:
    def __init__(self, redis: RedisClient, *, max_failures: int, window_seconds: int) -> None:
        self._redis = redis
        self._max = max_failures
        self._window = window_seconds

    async def check(self, key: str) -> ThrottleState:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        failures = int(count) if count is not None else 0
        if failures >= self._max:
            return ThrottleState(failures=failures, retry_after=max(int(ttl), 1))
        return ThrottleState(failures=failures, retry_after=None)

    async def record_failure(self, key: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self._redis.delete(key)
