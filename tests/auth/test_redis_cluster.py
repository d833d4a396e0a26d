"""What keeps the app correct on a Redis Cluster beyond the contract tests that run on one
(`on_every_backend`): keys that one script touches share a slot, authenticating stays one
round trip (two on a cluster), and redis-py's leaked errors of a connection closed under a
request count as Redis being unavailable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.crc import key_slot

from app.auth.profile_cache import profile_key
from app.auth.sessions import (
    AUTHENTICATE_LUA,
    READ_SESSION_LUA,
    RENEW_INDEX_LUA,
    RENEWAL_STEP,
    script_text,
    session_deadline_key,
    session_key,
    sessions_index_key,
)
from app.events.publisher import published_key  # part:events
from tests.conftest import UserFactory, http_client, login, make_settings, running
from tests.services import TestDatabase, TestRedis
from tools.devstack.throwaway import ThrowawayRedis, ThrowawayRedisCluster
from utils.redis.redis import is_write_on_closed_connection


@pytest.mark.parametrize("user_id", [1, 42, 10**12 + 7])
def test_a_users_session_index_is_in_the_slot_of_the_users_profile(user_id: int) -> None:
    assert key_slot(sessions_index_key(user_id).encode()) == key_slot(profile_key(user_id).encode())


def test_the_deadline_key_is_in_the_cluster_slot_of_its_session() -> None:
    token = "6f1c2f0e-3b5b-4a8e-9a8e-2d1f6f3f6b10"
    assert key_slot(session_deadline_key(token).encode()) == key_slot(session_key(token).encode())


# >>> part:events
def test_an_events_published_marker_is_in_the_slot_of_its_stream() -> None:
    marker = published_key("events:users", "0b5a6c1e-0000-4000-8000-000000000000")
    assert key_slot(marker.encode()) == key_slot(b"events:users")


# <<< part:events


async def test_a_write_on_a_connection_closed_under_it_counts_as_redis_unavailable(
    redis_db: TestRedis,
) -> None:
    address = urlsplit(redis_db.url)
    connection = Connection(host=address.hostname or "127.0.0.1", port=address.port or 6379)
    await connection.connect()  # type: ignore[no-untyped-call]
    await connection.disconnect()  # what a concurrent aclose() of the cluster client does
    with pytest.raises((AttributeError, TypeError)) as raised:
        # The write step of send_packed_command, after its "is it connected?" check.
        await connection._send_packed_command([b"PING\r\n"])
    assert is_write_on_closed_connection(raised.value)


def test_other_attribute_errors_stay_bugs() -> None:
    with pytest.raises(AttributeError) as raised:
        None.missing  # type: ignore[attr-defined]  # noqa: B018
    assert not is_write_on_closed_connection(raised.value)


async def _calls(nodes: list[str]) -> Counter[str]:
    """How often each command ran so far, summed over the nodes (commands a script runs
    count too, under their own names)."""
    calls: Counter[str] = Counter()
    for url in nodes:
        client = aioredis.from_url(url, decode_responses=True)
        try:
            stats: dict[str, Any] = await client.info("commandstats")
        finally:
            await client.aclose()
        calls.update({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})
    return calls


@pytest.mark.parametrize("on_cluster", [False, True], ids=["standalone", "redis-cluster"])
async def test_authenticating_is_one_redis_round_trip_and_two_on_a_cluster(
    database: TestDatabase, make_user: UserFactory, on_cluster: bool
) -> None:
    """A session renewed less than a renewal step ago is only read: the script (on a cluster,
    the script and then the profile's HMGET) reads the session's TTL, not its deadline, and
    writes nothing."""
    requests = 10
    with _own_redis(on_cluster) as (redis, nodes):
        async with running(make_settings(database, redis)) as app, http_client(app) as client:
            auth = await login(client, await make_user())
            assert (await client.get("/getName", headers=auth)).status_code == 200  # scripts loaded
            before = await _calls(nodes)
            for _ in range(requests):
                assert (await client.get("/getName", headers=auth)).status_code == 200
            ran = await _calls(nodes) - before
    assert ran["evalsha"] == requests
    assert ran["hmget"] == requests  # inside the script, or its own round trip on a cluster
    assert ran["get"] == ran["pttl"] == requests
    assert ran["expire"] == ran["set"] == ran["zadd"] == 0
    assert ran["exec"] == ran["eval"] == 0


@pytest.mark.parametrize("on_cluster", [False, True], ids=["standalone", "redis-cluster"])
async def test_a_renewal_is_one_round_trip_and_two_on_a_cluster(
    database: TestDatabase, make_user: UserFactory, on_cluster: bool
) -> None:
    requests = 5
    with _own_redis(on_cluster) as (redis, nodes):
        async with running(make_settings(database, redis)) as app, http_client(app) as client:
            auth = await login(client, await make_user())
            key = session_key(auth["Authorization"].split()[1])
            due_ms = int(app.state.settings.session_ttl_seconds * 1000 * (1 - RENEWAL_STEP)) - 1000
            await app.state.redis.pexpire(key, due_ms)
            assert (await client.get("/getName", headers=auth)).status_code == 200  # scripts loaded
            before = await _calls(nodes)
            for _ in range(requests):
                await app.state.redis.pexpire(key, due_ms)  # last renewed over a step ago
                assert (await client.get("/getName", headers=auth)).status_code == 200
            ran = await _calls(nodes) - before
    # One script per round trip; the session and its deadline are read once per request.
    assert ran["evalsha"] == requests * (2 if on_cluster else 1)
    assert ran["get"] == 2 * requests
    assert ran["set"] == ran["zadd"] == requests  # the deadline, the index entry
    assert ran["expire"] == 2 * requests  # the session, the index
    assert ran["exec"] == ran["eval"] == 0


@contextmanager
def _own_redis(on_cluster: bool) -> Iterator[tuple[TestRedis, list[str]]]:
    """A Redis (or Redis Cluster) nobody else sends commands to, so counting them is exact."""
    if on_cluster:
        cluster = ThrowawayRedisCluster()
        cluster.start()
        try:
            # Primaries only: replicas count the commands replicated to them.
            primaries = [node.url for node in cluster.primaries()]
            yield TestRedis(cluster.url, set(), cluster=True), primaries
        finally:
            cluster.destroy()
        return
    server = ThrowawayRedis()
    server.start()
    try:
        yield TestRedis(server.url, set()), [server.url]
    finally:
        server.stop()


def test_the_scripts_carry_the_settings_so_a_request_sends_its_keys_and_the_time_alone() -> None:
    """Every argument of a script call is encoded and sent with each request: the store's
    settings are in the script text instead (docs/benchmark.md, issue 24)."""
    for template in (AUTHENTICATE_LUA, READ_SESSION_LUA, RENEW_INDEX_LUA):
        text = script_text(template, ttl_seconds=3600, max_lifetime_seconds=604800)
        assert "$" not in text
    for template in (AUTHENTICATE_LUA, READ_SESSION_LUA):
        text = script_text(template, ttl_seconds=3600, max_lifetime_seconds=604800)
        assert "ARGV[1]" in text
        assert "ARGV[2]" not in text
        assert "3600000" in text  # the idle TTL, in ms
