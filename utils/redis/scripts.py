"""Lua scripts run by EVALSHA, on either client."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from utils.redis.redis import RedisClient


class LuaScript:
    """A script sent by its SHA1 digest, and loaded again when the server does not know it (a
    restarted Redis, a promoted replica).

    redis-py's `register_script` does the same, plus an `isinstance` check against a typing
    Protocol on every call, which showed in /getName's profile (docs/benchmark.md, issue 24's
    quiet-host section). tests/utils/test_redis_scripts.py pins the reload.
    """

    def __init__(self, redis: RedisClient, text: str) -> None:
        self._redis = redis
        self.text = text
        self.sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, *, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        try:
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self._redis.script_load(self.text)
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
