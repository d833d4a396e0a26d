"""Which exceptions mean that PostgreSQL or Redis is down or unreachable (answered 503 with
Retry-After), as opposed to a mistake in our own code or SQL (a 500 with its traceback).

Only connection-level failures belong here. asyncpg's `InterfaceError` is mostly a misuse of
the client (a wrong number of query arguments): only its closed-connection form is an outage.
"""

from __future__ import annotations

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from utils.redis.redis import CLUSTER_UNAVAILABLE

POSTGRES_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    *CLUSTER_UNAVAILABLE,  # a Redis Cluster slot without a primary, e.g. during a failover
)

_CLOSED_CONNECTION_MESSAGES = ("connection is closed", "pool is closed", "pool is closing")


def is_closed_postgres_connection(exc: BaseException) -> bool:
    """An `InterfaceError` that says the connection or pool went away (a restart, a failover)."""
    return isinstance(exc, asyncpg.InterfaceError) and any(
        message in str(exc) for message in _CLOSED_CONNECTION_MESSAGES
    )
