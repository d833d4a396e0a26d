"""Failed-login counting per (username, client address) in Redis, with a fixed window."""

from __future__ import annotations

from redis.asyncio import Redis

from constants import LOGIN_FAILURES_KEY_PREFIX


def throttle_key(username: str, client: str) -> str:
    return f"{LOGIN_FAILURES_KEY_PREFIX}{username.lower()}:{client}"


class LoginThrottle:
    def __init__(self, redis: Redis, *, max_failures: int, window_seconds: int) -> None:
        self._redis = redis
        self._max = max_failures
        self._window = window_seconds

    async def retry_after(self, key: str) -> int | None:
        """Seconds the caller must wait, or None when it may try."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= self._max:
            return max(int(ttl), 1)
        return None

    async def record_failure(self, key: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self._redis.delete(key)
