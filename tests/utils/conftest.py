"""What the Redis client tests share: the options the app would give `create_redis`."""

from __future__ import annotations

import pytest

from tests.services import TestRedis
from utils.redis.redis import RedisOptions


@pytest.fixture
def redis_options(redis_db: TestRedis) -> RedisOptions:
    """Two connections and a short wait for one, so that a test can exhaust the pool."""
    return RedisOptions(
        url=redis_db.url,
        max_connections=2,
        pool_timeout=0.2,
        socket_timeout=2.0,
        connect_timeout=2.0,
        health_check_interval=0,
        cluster=redis_db.cluster,
    )
