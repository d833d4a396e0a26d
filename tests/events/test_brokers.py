"""The event contract on every broker (EVENTS_BROKER=redis, rabbitmq, kafka, nats), against
real servers: the outbox relay publishes, `consume-events`' loop consumes.

Every test uses a stream name of its own, so its own exchange, topic or subjects, and starts
its consumer before the relay (a RabbitMQ queue gets what is published after it exists)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.exceptions
import asyncpg
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from app.core.settings import Settings
from app.events.config import RelayConfig
from app.events.envelope import Envelope
from app.events.lifespan import build_publisher
from app.events.outbox import claim_pending
from app.events.processing import ProcessedIds
from app.events.topology import Topology
from app.user.service import SET_NAME_SQL
from app.wiring.connections import open_redis
from tests.conftest import (
    AppState,
    User,
    UserFactory,
    http_client,
    login,
    make_settings,
    running,
)
from tests.events_helpers import (
    consuming,
    dead_letter_ids,
    drop_broker_topology,
    fast_relay,
    on_every_broker,
    relay_task,
    start_process,
    unique_stream,
    wait_until,
)
from tests.services import TestDatabase, TestRedis
from tools.devstack.brokers import Broker
from tools.devstack.throwaway import ThrowawayRedis
from tools.downstream.names import effects_key, names_key
from utils.redis.redis import close_redis

NAME_CHANGED = "user.name_changed"
PENDING_SQL = "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL"
# Kafka's consumer group takes a few seconds to join and be assigned its partitions.
WAIT = 30.0


@pytest.fixture
async def broker_settings(
    app_events_db: TestDatabase, redis_db: TestRedis, event_broker: Broker
) -> AsyncIterator[Settings]:
    settings = make_settings(
        app_events_db,
        redis_db,
        events_stream=unique_stream(),
        events_broker=event_broker.name,
        outbox_poll_interval_seconds=0.2,
        events_max_attempts=3,
        **event_broker.settings,
    )
    yield settings
    await drop_broker_topology(settings)


class Seen:
    """A handler that records every event it is given (for one test's users only)."""

    def __init__(self, user_ids: set[int], fail: set[str] | None = None) -> None:
        self.user_ids = user_ids
        self.events: list[Envelope] = []
        self.calls: Counter[str] = Counter()
        self.fail = fail or set()

    async def __call__(self, event: Envelope) -> None:
        if event.aggregate_id not in self.user_ids:
            return
        self.calls[event.event_id] += 1
        if event.data().get("new_name") in self.fail:
            raise RuntimeError("handler bug")
        self.events.append(event)

    def names(self, user_id: int) -> list[str]:
        return [
            e.data()["new_name"]
            for e in self.events
            if e.aggregate_id == user_id and e.event_type == NAME_CHANGED
        ]


def _group() -> str:
    return f"g{uuid.uuid4().hex[:8]}"


async def _stamped(state: AppState, user_id: int) -> bool:
    pending: int = await state.pool.fetchval(PENDING_SQL, user_id)
    return pending == 0


def _consumed(settings: Settings, group: str, outcome: str) -> float:
    labels = {"broker": settings.events_broker, "group": group, "outcome": outcome}
    return REGISTRY.get_sample_value("events_consumed_total", labels) or 0.0


@on_every_broker
async def test_nothing_is_published_before_commit_and_all_after(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user(name="Old")
    seen = Seen({user.id})
    async with (
        consuming(broker_settings, state.redis, _group(), seen),
        relay_task(fast_relay(broker_settings, state.redis)),
    ):
        async with state.pool.acquire() as conn, conn.transaction():
            await conn.execute(SET_NAME_SQL, user.id, "New", None)
            await asyncio.sleep(1.0)  # the relay polls 5 times meanwhile
            assert seen.events == []
        await wait_until(lambda: seen.events, "the committed change", WAIT)
        await wait_until(lambda: _stamped(state, user.id), "the relay's stamp")
    [event] = seen.events
    row = await state.pool.fetchrow(
        "SELECT event_id::text FROM outbox WHERE aggregate_id = $1", user.id
    )
    assert row is not None
    assert event.event_id == row["event_id"]
    assert event.event_type == NAME_CHANGED
    assert event.schema_version == 1
    assert event.data() == {"user_id": user.id, "old_name": "Old", "new_name": "New"}


@on_every_broker
async def test_rolled_back_change_emits_nothing(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user(name="Before")
    async with state.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(SET_NAME_SQL, user.id, "Never", None)
        await transaction.rollback()
    await state.pool.execute(SET_NAME_SQL, user.id, "Later", None)
    seen = Seen({user.id})
    async with (
        consuming(broker_settings, state.redis, _group(), seen),
        relay_task(fast_relay(broker_settings, state.redis)),
    ):
        await wait_until(lambda: seen.events, "the committed change", WAIT)
        await asyncio.sleep(0.5)
    assert seen.names(user.id) == ["Later"]


@on_every_broker
async def test_relay_crash_between_publish_and_stamp_is_handled_once(
    broker_settings: Settings, events_db: TestDatabase, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user(name="A")
    await state.pool.execute(SET_NAME_SQL, user.id, "B", None)
    seen = Seen({user.id})
    group = _group()
    async with consuming(broker_settings, state.redis, group, seen):
        # The relay's steps up to the broker's confirmation, then the process "dies".
        publisher = build_publisher(RelayConfig.from_settings(broker_settings), state.redis)
        conn = await asyncpg.connect(events_db.url)
        try:
            await conn.execute("BEGIN")
            _ids, events = await claim_pending(conn, 1000)
            await publisher.open()
            await publisher.publish([e for e in events if e.aggregate_id == user.id])
        finally:
            conn.terminate()
            await publisher.close()
        assert await state.pool.fetchval(PENDING_SQL, user.id) == 1
        async with relay_task(fast_relay(broker_settings, state.redis)):
            await wait_until(lambda: _stamped(state, user.id), "the next relay to stamp the row")
        await wait_until(lambda: seen.events, "the event", WAIT)
        await asyncio.sleep(1.0)  # a second copy, if the broker kept one, arrives meanwhile
    assert seen.names(user.id) == ["B"]
    assert list(seen.calls.values()) == [1]


async def _rename_each_user_then_consume(
    settings: Settings, state: AppState, seen: Seen, users: list[User], count: int, **relay: Any
) -> None:
    """Rename every user `count` times (v0, v1, ...), interleaved, then relay and consume until
    all arrive; each user's names must arrive in commit order."""
    for n in range(count):
        for user in users:
            await state.pool.execute(SET_NAME_SQL, user.id, f"v{n}", None)
    expected = count * len(users)
    async with (
        consuming(settings, state.redis, _group(), seen),
        relay_task(fast_relay(settings, state.redis, **relay)),
    ):
        await wait_until(lambda: len(seen.events) >= expected, f"{expected} events", WAIT)
    for user in users:
        assert seen.names(user.id) == [f"v{n}" for n in range(count)]


@on_every_broker
async def test_events_of_one_user_arrive_in_commit_order(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    users = [await make_user(name="v") for _ in range(3)]
    seen = Seen({user.id for user in users})
    await _rename_each_user_then_consume(broker_settings, state, seen, users, 15, batch_size=10)


class SlowSeen(Seen):
    """Seen, taking a random 0-20 ms per event and counting how many it handles at once."""

    def __init__(self, user_ids: set[int]) -> None:
        super().__init__(user_ids)
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, event: Envelope) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(random.uniform(0, 0.02))
            await super().__call__(event)
        finally:
            self.running -= 1


# The brokers whose consumer takes many messages per round trip (app/events/lanes.py).
on_laned_broker = pytest.mark.parametrize(
    "event_broker", ["rabbitmq", "nats"], indirect=True, scope="session"
)
# The brokers whose consumer keeps its processed ids in a Redis apart from the broker.
on_broker_beside_redis = pytest.mark.parametrize(
    "event_broker", ["rabbitmq", "kafka", "nats"], indirect=True, scope="session"
)


@on_laned_broker
async def test_users_are_handled_side_by_side_and_each_users_events_in_order(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    users = [await make_user(name="v") for _ in range(6)]
    seen = SlowSeen({user.id for user in users})
    await _rename_each_user_then_consume(broker_settings, state, seen, users, 20)
    assert seen.most_at_once > 1


@on_broker_beside_redis
async def test_a_message_waits_in_place_while_the_processed_ids_store_is_down(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user(name="v0")
    seen = Seen({user.id})
    server = ThrowawayRedis()
    server.start()
    on_server = {"redis_url": SecretStr(server.url), "redis_cluster": False}
    store = open_redis(broker_settings.model_copy(update=on_server))
    try:
        async with (
            consuming(broker_settings, store, _group(), seen),
            relay_task(fast_relay(broker_settings, state.redis)),
        ):
            await state.pool.execute(SET_NAME_SQL, user.id, "v1", None)
            await wait_until(lambda: seen.names(user.id) == ["v1"], "v1", WAIT)
            server.stop()
            for name in ("v2", "v3"):
                await state.pool.execute(SET_NAME_SQL, user.id, name, None)
            await asyncio.sleep(1.0)
            assert seen.names(user.id) == ["v1"]
            server.start()  # empty: v1's marker is gone, v2 and v3 were never marked
            await wait_until(lambda: len(seen.events) >= 3, "v2 and v3 after Redis returned", WAIT)
    finally:
        await close_redis(store)
        server.stop()
    assert seen.names(user.id) == ["v1", "v2", "v3"]
    assert max(seen.calls.values()) == 1


class BusyLoop:
    """An event loop as busy as an API worker's: `tasks` tasks that each burn `burn_s` of CPU
    per turn; `turns` counts the turns."""

    def __init__(self, tasks: int = 20, burn_s: float = 0.0002) -> None:
        self.tasks, self.burn_s = tasks, burn_s
        self.turns = 0

    async def run(self) -> None:
        async def burn() -> None:
            while True:
                started = time.perf_counter()
                while time.perf_counter() - started < self.burn_s:
                    pass
                await asyncio.sleep(0)

        async def count() -> None:
            while True:
                self.turns += 1
                await asyncio.sleep(0)

        await asyncio.gather(count(), *(burn() for _ in range(self.tasks)))


def _events(aggregates: range) -> list[Envelope]:
    return [
        Envelope(
            event_id=str(uuid.uuid4()),
            event_type=NAME_CHANGED,
            schema_version=1,
            occurred_at=datetime.now(UTC),
            aggregate_id=aggregate,
            payload="{}",
        )
        for aggregate in aggregates
    ]


@pytest.mark.parametrize("event_broker", ["rabbitmq"], indirect=True, scope="session")
async def test_rabbitmq_publishes_of_a_batch_share_event_loop_turns(
    broker_settings: Settings, state: AppState
) -> None:
    """BatchConnection and send_without_drain: on aiormq's defaults each publish of a batch
    took one turn of a busy loop (three while waiting for the drain)."""
    batches = [_events(range(k, k + 100)) for k in range(0, 300, 100)]
    publisher = build_publisher(RelayConfig.from_settings(broker_settings), state.redis)
    await publisher.open()
    loop = BusyLoop()
    busy = asyncio.create_task(loop.run())
    try:
        await asyncio.sleep(0.05)
        loop.turns = 0
        for batch in batches:
            await publisher.publish(batch)
        per_publish = loop.turns / 300
    finally:
        busy.cancel()
        await publisher.close()
    assert per_publish < 0.6, f"{per_publish:.2f} loop turns per publish"


@on_every_broker
async def test_a_duplicate_delivery_is_handled_once(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    event = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=NAME_CHANGED,
        schema_version=1,
        occurred_at=datetime.now(UTC),
        aggregate_id=user.id,
        payload=json.dumps({"user_id": user.id, "old_name": "", "new_name": "x"}),
    )
    later = dataclasses.replace(event, event_id=str(uuid.uuid4()), payload="{}")
    seen = Seen({user.id})
    group = _group()
    publisher = build_publisher(RelayConfig.from_settings(broker_settings), state.redis)
    async with consuming(broker_settings, state.redis, group, seen):
        await publisher.open()
        try:
            for _ in range(2):  # as a relay that crashed before its stamp would
                await publisher.publish([event])
            await publisher.publish([later])
        finally:
            await publisher.close()
        await wait_until(lambda: len(seen.events) >= 2, "both events", WAIT)
        await asyncio.sleep(0.5)
    duplicates = _consumed(broker_settings, group, "duplicate")
    assert seen.calls == {event.event_id: 1, later.event_id: 1}, f"{duplicates} duplicates"
    processed = ProcessedIds(state.redis, group=group, ttl_seconds=60)
    assert await processed.seen(event.event_id)
    # Redis (the marker) and NATS (Nats-Msg-Id) drop the copy; the others deliver it twice (or
    # more: a consumer that reconnects gets its unacknowledged message again).
    if broker_settings.events_broker in {"rabbitmq", "kafka"}:
        assert duplicates >= 1
    else:
        assert duplicates == 0


@on_every_broker
async def test_a_failing_handler_is_retried_then_dead_lettered(
    broker_settings: Settings, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user(name="a")
    for name in ("poison", "after"):
        await state.pool.execute(SET_NAME_SQL, user.id, name, None)
    seen = Seen({user.id}, fail={"poison"})
    group = _group()
    async with (
        consuming(broker_settings, state.redis, group, seen),
        relay_task(fast_relay(broker_settings, state.redis)),
    ):
        await wait_until(lambda: seen.names(user.id) == ["after"], "the event after", WAIT)
    [poison_id] = [
        event_id for event_id in seen.calls if event_id not in {e.event_id for e in seen.events}
    ]
    assert seen.calls[poison_id] == broker_settings.events_max_attempts == 3

    async def dead() -> list[str]:
        return await dead_letter_ids(broker_settings, state.redis, group)

    await wait_until(dead, "the dead letter", WAIT)
    assert await dead() == [poison_id]
    assert _consumed(broker_settings, group, "dead_lettered") == 1
    assert _consumed(broker_settings, group, "handled") == 1
    retries = REGISTRY.get_sample_value(
        "events_handler_retries_total", {"broker": broker_settings.events_broker, "group": group}
    )
    assert retries == 2


@on_every_broker
async def test_another_service_reacts_to_a_name_change(
    broker_settings: Settings, make_user: UserFactory, state: AppState, tmp_path: Path
) -> None:
    """tools/downstream/names.py, a separate process, keeps its copy of display names from
    user.name_changed over the broker; /setName goes through an app whose lifespan relays."""
    user = await make_user(name="Old Name")
    group = _group()
    log = tmp_path / "names.log"
    relaying = broker_settings.model_copy(update={"outbox_relay_enabled": True})
    command = ["-m", "tools.downstream.names", "--group", group]
    service = start_process(command, broker_settings, log)
    try:
        async with running(relaying) as app, http_client(app) as http:
            # The service's group must exist before the event is published (RabbitMQ).
            await wait_until(lambda: _group_exists(broker_settings, group), "its group", WAIT)
            auth = await login(http, user)
            response = await http.post("/setName", json={"name": "New Name"}, headers=auth)
            assert response.status_code == 200

            async def renamed() -> bool:
                return await state.redis.hget(names_key(group), str(user.id)) == "New Name"

            await wait_until(renamed, "the other service's copy", WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- names service ---\n{log.read_text()}") from None
    finally:
        service.terminate()
        assert service.wait(15) == 0, log.read_text()
    effects = await state.redis.hgetall(effects_key(group))
    assert list(effects.values()) == ["1"]
    await state.redis.delete(names_key(group), effects_key(group))


async def _group_exists(settings: Settings, group: str) -> bool:
    """Whether the consuming service has declared its group (queue, consumer, stream group)."""
    topology = Topology(settings.events_stream)
    broker = settings.events_broker
    if broker == "rabbitmq":
        connection = await aio_pika.connect(settings.broker_url)
        try:
            channel = await connection.channel()
            await channel.declare_queue(topology.queue(group), passive=True)
            return True
        except aio_pika.exceptions.ChannelClosed:
            return False
        finally:
            await connection.close()
    return True  # the others keep what was published before the group joined
