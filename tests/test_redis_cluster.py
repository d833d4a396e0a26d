"""What keeps the app correct on a Redis Cluster beyond the contract tests that run on one
(`on_every_backend`): keys that one script touches share a slot, and redis-py's leaked
errors of a connection closed under a request count as Redis being unavailable."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from redis.asyncio.connection import Connection
from redis.crc import key_slot

from app.auth.sessions import session_key, sessions_index_key
from app.events.publisher import published_key
from app.user.profile_cache import profile_key
from tests.services import TestRedis
from utils.redis.redis import is_write_on_closed_connection


@pytest.mark.parametrize("user_id", [1, 42, 10**12 + 7])
def test_a_users_session_index_is_in_the_slot_of_the_users_profile(user_id: int) -> None:
    assert key_slot(sessions_index_key(user_id).encode()) == key_slot(profile_key(user_id).encode())


def test_a_per_session_companion_key_is_in_the_slot_of_the_session() -> None:
    token = "7f0c2b1e-5c7d-4b7e-9a43-2f4a6e0e9b1d"
    companion = "{" + session_key(token) + "}:created"
    assert key_slot(companion.encode()) == key_slot(session_key(token).encode())


def test_an_events_published_marker_is_in_the_slot_of_its_stream() -> None:
    marker = published_key("events:users", "0b5a6c1e-0000-4000-8000-000000000000")
    assert key_slot(marker.encode()) == key_slot(b"events:users")


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
