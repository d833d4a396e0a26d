"""Redis memory per session, measured on a throwaway redis-server:
`python -m tools.capacity.redis_memory [--users 20000] [--sessions-per-user 1]`.

Sessions are made by the app's own SessionStore and ProfileCache (the keys and lifetimes of
production) and each is authenticated once. Two numbers come out: `MEMORY USAGE` of each kind
of key (what the key and its value take), and the growth of `used_memory` per session, which
also counts Redis's bookkeeping (the key table, the expiry table). Plan with the second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import uuid  # part:events
from datetime import UTC, datetime  # part:events
from typing import Any

from app.auth.profile_cache import ProfileCache, profile_key
from app.auth.sessions import SessionStore, session_deadline_key, session_key, sessions_index_key
from app.events.envelope import Envelope  # part:events
from app.events.publisher import RedisStreamPublisher  # part:events
from tools.devstack.throwaway import ThrowawayRedis
from utils.redis.redis import RedisClient, RedisOptions, close_redis, create_redis

TTL_SECONDS = 3600
MAX_LIFETIME_SECONDS = 7 * 24 * 3600  # SESSION_MAX_LIFETIME_SECONDS' default
STREAM = "events:capacity"  # part:events
SAMPLE = 200  # keys of each kind given to MEMORY USAGE
BATCH = 500  # logins in flight at once


def _client(url: str) -> RedisClient:
    return create_redis(
        RedisOptions(
            url=url,
            max_connections=BATCH,
            pool_timeout=5,
            socket_timeout=5,
            connect_timeout=5,
            health_check_interval=0,
        )
    )


async def _used_memory(url: str) -> int:
    """Over one fresh connection: the pool's connections have buffers of their own, which
    `used_memory` counts too."""
    redis = create_redis(
        RedisOptions(
            url=url,
            max_connections=1,
            pool_timeout=5,
            socket_timeout=5,
            connect_timeout=5,
            health_check_interval=0,
        )
    )
    try:
        info: dict[str, Any] = await redis.info("memory")
        return int(info["used_memory"])
    finally:
        await close_redis(redis)


async def _sign_in(
    sessions: SessionStore, profiles: ProfileCache, user_id: int, per_user: int
) -> list[str]:
    await profiles.store(user_id=user_id, version=1, username=f"user_{user_id}", name="A Name")
    tokens = [await sessions.create(user_id) for _ in range(per_user)]
    for token in tokens:
        await sessions.authenticate(token)
    return tokens


async def _median_usage(redis: RedisClient, keys: list[str]) -> int:
    sizes = [await redis.memory_usage(key, samples=0) for key in keys[:SAMPLE]]
    return int(statistics.median(size for size in sizes if size is not None))


async def measure(url: str, users: int, per_user: int) -> dict[str, Any]:
    before = await _used_memory(url)
    redis = _client(url)
    try:
        sessions = SessionStore(
            redis, ttl_seconds=TTL_SECONDS, max_lifetime_seconds=MAX_LIFETIME_SECONDS
        )
        profiles = ProfileCache(redis, ttl_seconds=TTL_SECONDS)
        tokens: list[str] = []
        for start in range(1, users + 1, BATCH):
            ids = range(start, min(start + BATCH, users + 1))
            batches = await asyncio.gather(
                *(_sign_in(sessions, profiles, uid, per_user) for uid in ids)
            )
            tokens += [token for batch in batches for token in batch]
        await close_redis(redis)  # its connections' buffers must not count
        grown = await _used_memory(url) - before
        redis = _client(url)
        user_ids = list(range(1, users + 1))
        return {
            "users": users,
            "sessions_per_user": per_user,
            "memory_usage_bytes": {
                "session:<token>": await _median_usage(redis, [session_key(t) for t in tokens]),
                "{session:<token>}:deadline": await _median_usage(
                    redis, [session_deadline_key(t) for t in tokens]
                ),
                "{user:<id>}:sessions": await _median_usage(
                    redis, [sessions_index_key(u) for u in user_ids]
                ),
                "user:<id> (profile)": await _median_usage(
                    redis, [profile_key(u) for u in user_ids]
                ),
            },
            "used_memory_growth_bytes": grown,
            "used_memory_per_session_bytes": round(grown / len(tokens)),
            "used_memory_per_user_bytes": round(grown / users),
        }
    finally:
        await close_redis(redis)


# >>> part:events
async def measure_events(url: str, events: int) -> dict[str, Any]:
    """What one published `user.logged_in` event leaves in Redis: its stream entry and its
    "published" marker (kept MARKER_TTL: seven days by default)."""
    before = await _used_memory(url)
    redis = _client(url)
    try:
        publisher = RedisStreamPublisher(
            redis, stream=STREAM, maxlen=events, marker_ttl_seconds=TTL_SECONDS
        )
        for start in range(0, events, BATCH):
            await publisher.publish(
                [
                    Envelope(
                        event_id=str(uuid.uuid4()),
                        event_type="user.logged_in",
                        schema_version=1,
                        occurred_at=datetime.now(UTC),
                        aggregate_id=user_id,
                        payload=json.dumps({"user_id": user_id, "username": f"user_{user_id}"}),
                    )
                    for user_id in range(start, min(start + BATCH, events))
                ]
            )
        markers = [key async for key in redis.scan_iter(match="outbox:published:*", count=1000)]
        marker = await _median_usage(redis, markers)
        stream = await redis.memory_usage(STREAM, samples=0) or 0
    finally:
        await close_redis(redis)
    grown = await _used_memory(url) - before
    return {
        "events": events,
        "memory_usage_bytes": {"published marker": marker, "stream entry": round(stream / events)},
        "used_memory_per_event_bytes": round(grown / events),
    }


# <<< part:events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--sessions-per-user", type=int, default=1)
    parser.add_argument("--events", type=int, default=20_000)  # part:events
    args = parser.parse_args()
    server = ThrowawayRedis()
    server.start()
    try:
        result = asyncio.run(measure(server.url, args.users, args.sessions_per_user))
        result["events"] = asyncio.run(measure_events(server.url, args.events))  # part:events
    finally:
        server.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
