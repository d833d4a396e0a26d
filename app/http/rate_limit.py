"""A limit on how often one subject (an account, an address) may do something: a fixed window
counted in Redis, refused with a JSON 429 and `Retry-After`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from app.http.errors import RETRY_AFTER_DOC, AppError, HeaderDoc
from utils.redis.redis import RedisClient
from utils.redis.windows import WindowCounter


class TooManyRequests(AppError):
    status_code = 429
    default_detail = "Too many requests; retry later"
    documented_headers: ClassVar[Mapping[str, HeaderDoc]] = {"Retry-After": RETRY_AFTER_DOC}

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class RateLimit:
    """At most `limit` events per `window_seconds` for each subject; keys `<prefix><subject>`."""

    def __init__(self, redis: RedisClient, *, prefix: str, limit: int, window_seconds: int) -> None:
        self._prefix = prefix
        self._limit = limit
        self._counter = WindowCounter(redis, window_seconds=window_seconds)

    async def hit(self, subject: str | int) -> None:
        """Count one event; raises TooManyRequests beyond the limit."""
        count, left = await self._counter.count(f"{self._prefix}{subject}")
        if count > self._limit:
            raise TooManyRequests(left)
