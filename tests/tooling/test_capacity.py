"""The Redis-memory measurement behind docs/scaling.md measures the keys the app really writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.capacity.redis_memory import measure
from tools.devstack.throwaway import ThrowawayRedis


@pytest.fixture
def empty_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


async def test_memory_per_session_counts_every_key_a_login_and_a_request_write(
    empty_redis: ThrowawayRedis,
) -> None:
    result = await measure(empty_redis.url, users=300, per_user=2)
    usage = result["memory_usage_bytes"]
    assert set(usage) == {
        "session:<token>",
        "{session:<token>}:deadline",
        "{user:<id>}:sessions",
        "user:<id> (profile)",
    }
    assert all(size > 0 for size in usage.values())
    # The growth includes Redis's bookkeeping, so it is above the keys' own sizes.
    per_user = result["used_memory_per_user_bytes"]
    per_session = usage["session:<token>"] + usage["{session:<token>}:deadline"]
    assert per_user > 2 * per_session + usage["user:<id> (profile)"]
