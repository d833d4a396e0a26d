"""Domain events: outbox -> relay -> Redis stream -> consumer group, against the real services.

Every test writes to its own stream, so it sees only the events its relay published (plus
pending rows other tests left behind, which are filtered out by user id)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.core.settings import Settings
from app.events.consumer import EventConsumer, Handler
from app.events.envelope import Envelope
from app.events.outbox import claim_pending, prune_published
from app.events.publisher import RedisStreamPublisher
from app.user.service import SET_NAME_SQL
from app.wiring.connections import open_redis
from tests.conftest import (
    AppState,
    UserFactory,
    http_client,
    login,
    make_settings,
    on_every_backend,
    running,
)
from tests.events_helpers import (
    events_of,
    fast_relay,
    lock_holders,
    relay_task,
    start_relay_process,
    stream_events,
    unique_stream,
    wait_until,
)
from tests.services import TestDatabase, TestRedis, as_app_user
from tools.devstack.throwaway import ThrowawayPostgres, ThrowawayRedis
from utils.redis.redis import close_redis

NAME_CHANGED = "user.name_changed"
PENDING_SQL = "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL"


@pytest.fixture
async def stream(state: AppState) -> AsyncIterator[str]:
    name = unique_stream()
    yield name
    await state.redis.delete(name)


@pytest.fixture
def events_settings(app_events_db: TestDatabase, redis_db: TestRedis, stream: str) -> Settings:
    return make_settings(
        app_events_db,
        redis_db,
        events_stream=stream,
        outbox_relay_enabled=True,
        outbox_poll_interval_seconds=0.2,
    )


@pytest.fixture
async def relay_client(events_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app whose lifespan runs the relay (the session app's does not)."""
    async with running(events_settings) as started, http_client(started) as http:
        yield http


async def new_names(state: AppState, stream: str, user_id: int) -> list[str]:
    return [
        e.data()["new_name"] for e in await events_of(state.redis, stream, user_id, NAME_CHANGED)
    ]


@on_every_backend
async def test_name_change_reaches_a_consumer_exactly_once(
    relay_client: httpx.AsyncClient, make_user: UserFactory, state: AppState, stream: str
) -> None:
    user = await make_user(name="Old Name")
    auth = await login(relay_client, user)
    before = datetime.now(UTC)
    response = await relay_client.post("/setName", json={"name": "New Name"}, headers=auth)
    assert response.status_code == 200
    after = datetime.now(UTC)

    seen: list[Envelope] = []

    async def handle(event: Envelope) -> None:
        if event.aggregate_id == user.id and event.event_type == NAME_CHANGED:
            seen.append(event)

    # claim_idle_ms=0 with a claim on every poll: acknowledged messages must never come back.
    consumer = EventConsumer(
        state.redis,
        stream=stream,
        group="names",
        consumer="c1",
        handler=handle,
        claim_idle_ms=0,
        claim_every_seconds=0,
    )
    await consumer.ensure_group()

    async def polled_until_seen() -> bool:
        await consumer.poll(block_ms=100)
        return bool(seen)

    await wait_until(polled_until_seen, "the name_changed event")
    for _ in range(5):
        await consumer.poll(block_ms=50)
    assert len(seen) == 1
    assert (await state.redis.xpending(stream, "names"))["pending"] == 0

    event = seen[0]
    await wait_until(lambda: _all_stamped(state, user.id), "the relay's commit")
    row = await state.pool.fetchrow(
        "SELECT event_id::text, published_at FROM outbox WHERE aggregate_id = $1 "
        "AND event_type = $2",
        user.id,
        NAME_CHANGED,
    )
    assert row is not None
    assert row["published_at"] is not None
    assert event.event_id == row["event_id"] == str(uuid.UUID(event.event_id))
    assert event.schema_version == 1
    assert event.data() == {"user_id": user.id, "old_name": "Old Name", "new_name": "New Name"}
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= event.occurred_at <= after + timedelta(seconds=1)
    assert await new_names(state, stream, user.id) == ["New Name"]


@on_every_backend
async def test_login_publishes_user_logged_in(
    relay_client: httpx.AsyncClient, make_user: UserFactory, state: AppState, stream: str
) -> None:
    user = await make_user()
    await login(relay_client, user)

    async def published() -> bool:
        return bool(await events_of(state.redis, stream, user.id, "user.logged_in"))

    await wait_until(published, "the logged_in event")
    [event] = await events_of(state.redis, stream, user.id, "user.logged_in")
    assert event.schema_version == 1
    assert event.data() == {"user_id": user.id, "username": user.username}


@on_every_backend
async def test_rolled_back_change_emits_nothing(
    events_settings: Settings, make_user: UserFactory, state: AppState, stream: str
) -> None:
    user = await make_user(name="Before")
    with pytest.raises(RuntimeError, match="abort"):
        await _change_name_then_abort(state, user.id, "Never")
    await state.pool.execute(SET_NAME_SQL, user.id, "Later", None)  # committed after the rollback

    async with relay_task(fast_relay(events_settings, state.redis)):
        # Rows go out in outbox order: once "Later" is stamped, "Never" would be out too.
        await wait_until(lambda: _all_stamped(state, user.id), "the committed change")
    assert await new_names(state, stream, user.id) == ["Later"]


@on_every_backend
async def test_setting_the_same_name_emits_nothing(
    events_settings: Settings, make_user: UserFactory, state: AppState, stream: str
) -> None:
    user = await make_user(name="Same")
    await state.pool.execute(SET_NAME_SQL, user.id, "Same", None)
    await state.pool.execute(SET_NAME_SQL, user.id, "Other", None)
    async with relay_task(fast_relay(events_settings, state.redis)):
        await wait_until(lambda: _has(state, stream, user.id, "Other"), "the real change")
    assert await new_names(state, stream, user.id) == ["Other"]


async def _change_name_then_abort(state: AppState, user_id: int, name: str) -> None:
    async with state.pool.acquire() as conn, conn.transaction():
        assert await conn.fetchrow(SET_NAME_SQL, user_id, name, None) is not None
        raise RuntimeError("abort")


async def _all_stamped(state: AppState, user_id: int) -> bool:
    pending: int = await state.pool.fetchval(PENDING_SQL, user_id)
    return pending == 0


async def _has(state: AppState, stream: str, user_id: int, name: str) -> bool:
    return name in await new_names(state, stream, user_id)


@on_every_backend
async def test_crash_after_publish_before_commit_publishes_once(
    events_settings: Settings,
    events_db: TestDatabase,
    make_user: UserFactory,
    state: AppState,
    stream: str,
) -> None:
    user = await make_user(name="A")
    await state.pool.execute(SET_NAME_SQL, user.id, "B", None)
    publisher = RedisStreamPublisher(state.redis, stream=stream, maxlen=1000, marker_ttl_seconds=60)
    # The relay's steps up to XADD, then the process "dies": the UPDATE never commits.
    conn = await asyncpg.connect(events_db.url)
    try:
        await conn.execute("BEGIN")
        _ids, events = await claim_pending(conn, 1000)
        await publisher.publish(events)
    finally:
        conn.terminate()
    assert await new_names(state, stream, user.id) == ["B"]
    assert await state.pool.fetchval(PENDING_SQL, user.id) == 1

    async with relay_task(fast_relay(events_settings, state.redis)):
        await wait_until(lambda: _all_stamped(state, user.id), "the next relay to stamp the row")
    assert await new_names(state, stream, user.id) == ["B"]
    ids = [e.event_id for e in await stream_events(state.redis, stream)]
    assert len(ids) == len(set(ids))


@on_every_backend
async def test_relay_process_killed_between_write_and_publish_delivers_after_restart(
    events_settings: Settings,
    events_db: TestDatabase,
    make_user: UserFactory,
    state: AppState,
    stream: str,
    tmp_path: Path,
) -> None:
    user = await make_user(name="v0")
    log = tmp_path / "relay.log"
    try:
        await _kill_write_restart(events_settings, events_db, state, user.id, log)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- relay processes ---\n{log.read_text()}") from None
    assert await new_names(state, stream, user.id) == ["v1", "v2"]
    assert await lock_holders(events_db.url) == []


async def _kill_write_restart(
    settings: Settings, db: TestDatabase, state: AppState, user_id: int, log: Path
) -> None:
    stream = settings.events_stream
    first = start_relay_process(settings, log)
    try:
        await wait_until(lambda: lock_holders(db.url), "the relay process to lead", 20)
        await state.pool.execute(SET_NAME_SQL, user_id, "v1", None)
        await wait_until(lambda: _has(state, stream, user_id, "v1"), "v1 to be published")
    finally:
        first.kill()
        first.wait(10)

    async def released() -> bool:
        return not await lock_holders(db.url)

    await wait_until(released, "PostgreSQL to drop the killed relay's lock")
    await state.pool.execute(SET_NAME_SQL, user_id, "v2", None)  # written while no relay runs
    await asyncio.sleep(0.5)
    assert await new_names(state, stream, user_id) == ["v1"]

    second = start_relay_process(settings, log)
    try:
        await wait_until(lambda: _has(state, stream, user_id, "v2"), "v2 after the restart", 20)
    finally:
        second.terminate()
        assert second.wait(10) == 0, "the relay did not exit cleanly on SIGTERM"


@on_every_backend
async def test_only_one_relay_is_active_and_a_standby_takes_over(
    events_settings: Settings,
    events_db: TestDatabase,
    make_user: UserFactory,
    state: AppState,
    stream: str,
) -> None:
    user = await make_user(name="x")
    a = fast_relay(events_settings, state.redis)
    b = fast_relay(events_settings, state.redis)
    async with relay_task(a) as task_a, relay_task(b) as task_b:
        await wait_until(lambda: a.is_leader or b.is_leader, "a leader")
        await asyncio.sleep(0.5)  # several lock attempts by the standby
        assert [a.is_leader, b.is_leader].count(True) == 1
        assert len(await lock_holders(events_db.url)) == 1

        leader_task, standby = (task_a, b) if a.is_leader else (task_b, a)
        leader_task.cancel()
        await wait_until(lambda: standby.is_leader, "the standby to take over")
        await state.pool.execute(SET_NAME_SQL, user.id, "after handover", None)
        await wait_until(lambda: _has(state, stream, user.id, "after handover"), "the event")
    assert await new_names(state, stream, user.id) == ["after handover"]
    assert await lock_holders(events_db.url) == []


@on_every_backend
async def test_lifespan_relay_releases_its_lock_on_shutdown(
    events_settings: Settings, events_db: TestDatabase
) -> None:
    assert await lock_holders(events_db.url) == []  # the session app runs with the relay off
    async with running(events_settings):
        await wait_until(lambda: lock_holders(events_db.url), "the lifespan relay to lead")
    assert await lock_holders(events_db.url) == []


@on_every_backend
async def test_unacknowledged_message_is_claimed_and_retried(state: AppState, stream: str) -> None:
    event = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=NAME_CHANGED,
        schema_version=1,
        occurred_at=datetime.now(UTC),
        aggregate_id=1,
        payload='{"user_id": 1, "old_name": "a", "new_name": "b"}',
    )
    await state.redis.xadd(stream, event.to_fields())  # type: ignore[arg-type]
    handled: list[Envelope] = []

    async def record(received: Envelope) -> None:
        handled.append(received)

    def consumer(name: str, handler: Handler, claim_idle_ms: int) -> EventConsumer:
        return EventConsumer(
            state.redis,
            stream=stream,
            group="g",
            consumer=name,
            handler=handler,
            claim_idle_ms=claim_idle_ms,
            claim_every_seconds=0,
        )

    healthy = consumer("b", record, claim_idle_ms=200)
    await healthy.ensure_group()
    # Consumer "a" reads the message and dies before handling it: it stays pending.
    await state.redis.xreadgroup("g", "a", {stream: ">"}, count=10)
    assert await healthy.poll(block_ms=100) == 0  # not idle long enough to be claimed yet
    await asyncio.sleep(0.25)
    assert await healthy.poll(block_ms=100) == 1
    assert handled == [event]
    assert (await state.redis.xpending(stream, "g"))["pending"] == 0


@on_every_backend
async def test_prune_deletes_only_old_published_rows(
    state: AppState, events_db: TestDatabase
) -> None:
    aggregate = -int(uuid.uuid4().int % 1_000_000_000)
    await state.pool.execute(
        "INSERT INTO outbox (event_type, aggregate_id, payload, published_at) VALUES "
        "('test.old', $1, '{}', now() - interval '2 days'), "
        "('test.recent', $1, '{}', now() - interval '1 hour'), "
        "('test.pending', $1, '{}', NULL)",
        aggregate,
    )
    conn = await asyncpg.connect(events_db.url)
    try:
        assert await prune_published(conn, older_than_seconds=86_400, limit=1000) >= 1
    finally:
        await conn.close()
    left = await state.pool.fetch(
        "SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id", aggregate
    )
    assert [r["event_type"] for r in left] == ["test.recent", "test.pending"]
    await state.pool.execute("DELETE FROM outbox WHERE aggregate_id = $1", aggregate)


@pytest.mark.faults
async def test_relay_survives_redis_going_down_and_back(
    events_db: TestDatabase,
    redis_db: TestRedis,
    make_user: UserFactory,
    state: AppState,
    stream: str,
) -> None:
    server = ThrowawayRedis()
    server.start()
    settings = make_settings(
        events_db, redis_db, redis_url=server.url, events_stream=stream,
        outbox_poll_interval_seconds=0.2, redis_cluster=False,
    )  # fmt: skip
    redis = open_redis(settings)
    user = await make_user(name="v0")

    async def published(name: str) -> bool:
        events = await events_of(redis, stream, user.id, NAME_CHANGED)
        return name in [e.data()["new_name"] for e in events]

    try:
        async with relay_task(fast_relay(settings, redis)) as task:
            await state.pool.execute(SET_NAME_SQL, user.id, "v1", None)
            await wait_until(lambda: published("v1"), "v1")
            await wait_until(lambda: _all_stamped(state, user.id), "v1 stamped")
            server.stop()
            await state.pool.execute(SET_NAME_SQL, user.id, "v2", None)
            await asyncio.sleep(1.0)  # the relay fails, backs off, retries
            assert not task.done()
            assert await state.pool.fetchval(PENDING_SQL, user.id) == 1
            server.start()  # empty: no persistence
            await wait_until(lambda: published("v2"), "v2 after Redis returned")
            assert not task.done()
        assert len(await events_of(redis, stream, user.id, NAME_CHANGED)) == 1
    finally:
        await close_redis(redis)
        server.stop()


@pytest.mark.faults
async def test_relay_survives_postgres_going_down_and_back(
    events_db: TestDatabase, redis_db: TestRedis, state: AppState, stream: str
) -> None:
    server = ThrowawayPostgres()
    try:
        server.start()
        await TestDatabase(name="postgres", url=server.url).load_schema()
        settings = make_settings(
            events_db, redis_db, database_url=as_app_user(server.url), events_stream=stream,
            outbox_poll_interval_seconds=0.2,
        )  # fmt: skip
        relay = fast_relay(settings, state.redis)
        async with relay_task(relay) as task:
            for aggregate in (1, 2):
                if aggregate == 2:
                    server.stop()
                    await asyncio.sleep(1.0)  # the relay loses its session and backs off
                    assert not task.done()
                    assert not relay.is_leader
                    server.start()
                await _insert_event(server.url, aggregate)

                async def arrived(aggregate: int = aggregate) -> bool:
                    return bool(await events_of(state.redis, stream, aggregate, "test.ping"))

                await wait_until(arrived, f"event {aggregate}")
            assert not task.done()
        events = await stream_events(state.redis, stream)
        assert sorted(e.aggregate_id for e in events) == [1, 2]
    finally:
        server.destroy()


async def _insert_event(dsn: str, aggregate: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO outbox (event_type, aggregate_id, payload) VALUES ('test.ping', $1, '{}')",
            aggregate,
        )
    finally:
        await conn.close()


@on_every_backend
async def test_a_message_that_keeps_crashing_consumers_goes_to_the_dead_letters(
    state: AppState, stream: str
) -> None:
    """One delivered more than max_deliveries times (each consumer that took it died) is moved
    to the dead-letter stream unhandled, and so is a malformed entry, at once."""
    event = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=NAME_CHANGED,
        schema_version=1,
        occurred_at=datetime.now(UTC),
        aggregate_id=1,
        payload='{"user_id": 1, "old_name": "a", "new_name": "b"}',
    )
    await state.redis.xadd(stream, event.to_fields())  # type: ignore[arg-type]
    handled: list[Envelope] = []

    async def record(received: Envelope) -> None:
        handled.append(received)

    consumer = EventConsumer(
        state.redis,
        stream=stream,
        group="g",
        consumer="survivor",
        handler=record,
        claim_idle_ms=0,
        claim_every_seconds=0,
        max_deliveries=2,
    )
    await consumer.ensure_group()
    for crashed in ("a", "b"):  # each reads it and dies
        await state.redis.xreadgroup("g", crashed, {stream: ">"}, count=10)
        await state.redis.xclaim(stream, "g", crashed, 0, [await _only_pending(state, stream)])
    await state.redis.xadd(stream, {"not": "an event"})
    await consumer.poll(block_ms=100)
    assert handled == []
    dead: Any = await state.redis.xrange(consumer.dead_letters)
    assert [fields.get("event_id") for _id, fields in dead] == [event.event_id, None]
    assert dead[0][1]["dead_letter_reason"] == "delivered too often"
    assert dead[1][1]["dead_letter_reason"].startswith("malformed")
    assert (await state.redis.xpending(stream, "g"))["pending"] == 0
    await state.redis.delete(consumer.dead_letters)


async def _only_pending(state: AppState, stream: str) -> str:
    [entry] = await state.redis.xpending_range(stream, "g", min="-", max="+", count=10)
    return str(entry["message_id"])
