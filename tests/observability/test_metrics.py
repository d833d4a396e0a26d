"""The metrics move when their events happen: pool waits and timeouts, login outcomes,
sessions, password hashing, the outbox backlog (values read from the process's registry)."""

from __future__ import annotations

import asyncio

import asyncpg  # part:events
import httpx
import pytest
from prometheus_client import REGISTRY

from app.core.settings import Settings
from app.events.outbox import backlog  # part:events
from app.observability.http_metrics import PendingHttpMetrics
from app.observability.sampling import sample_pools
from app.wiring.connections import open_pool
from tests.auth.test_overload import PASSWORD, hasher_with_bound, verify_all
from tests.conftest import AppState, User, UserFactory, login, make_settings
from tests.services import TestDatabase, TestRedis
from utils.database.psql import close_pool


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_pool_wait_and_timeout_are_counted(
    database: TestDatabase, redis_db: TestRedis, state: AppState
) -> None:
    settings = make_settings(
        database, redis_db, db_pool_min_size=1, db_pool_max_size=1, db_acquire_timeout=0.2
    )
    pool = await open_pool(settings)
    timeouts = value("db_pool_acquire_timeouts_total")
    waits = value("db_pool_acquire_wait_seconds_count")
    try:
        held = await pool.acquire()
        waiting = asyncio.ensure_future(pool.fetchval("SELECT 1"))
        await asyncio.sleep(0.05)
        sample_pools(pool, state.redis)
        assert value("db_pool_waiters") == 1
        assert value("db_pool_connections_in_use") == 1
        with pytest.raises(TimeoutError):
            await waiting
        await pool.release(held)
    finally:
        await close_pool(pool)
    assert value("db_pool_acquire_timeouts_total") == timeouts + 1
    assert value("db_pool_acquire_wait_seconds_count") == waits + 1  # the first acquire


async def test_login_outcomes_and_sessions_are_counted(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    before = {o: value("login_attempts_total", outcome=o) for o in ("success", "invalid")}
    created, revoked = value("sessions_created_total"), value("sessions_revoked_total")
    hashes = value("password_hash_duration_seconds_count")
    wrong = await client.post("/login", json={"username": user.username, "password": "nope"})
    assert wrong.status_code == 401
    auth = await login(client, User(user.id, user.username, user.password, ""))
    assert (await client.post("/logout", headers=auth)).status_code == 204
    assert value("login_attempts_total", outcome="invalid") == before["invalid"] + 1
    assert value("login_attempts_total", outcome="success") == before["success"] + 1
    assert value("sessions_created_total") == created + 1
    assert value("sessions_revoked_total") == revoked + 1
    assert value("password_hash_duration_seconds_count") >= hashes + 2


async def test_a_login_shed_by_the_hasher_is_counted_as_shed(settings: Settings) -> None:
    shed = value("login_attempts_total", outcome="shed")
    hasher = hasher_with_bound(settings, 2.5, argon2_max_concurrent=1)
    try:
        outcomes = await verify_all(hasher, hasher.hash_sync(PASSWORD))
    finally:
        hasher.close()
    assert value("login_attempts_total", outcome="shed") == shed + outcomes.count("shed") > shed


def test_every_login_outcome_is_exported() -> None:
    assert REGISTRY.get_sample_value("login_attempts_total", {"outcome": "throttled"}) is not None


# >>> part:events
async def test_outbox_backlog_counts_pending_events_and_their_age(database: TestDatabase) -> None:
    conn = await asyncpg.connect(database.url)
    transaction = conn.transaction()  # rolled back: the shared scratch database stays as it was
    await transaction.start()
    try:
        await conn.execute(
            "INSERT INTO outbox (event_type, aggregate_id, payload, occurred_at)"
            " VALUES ('test.backlog', 0, '{}', now() - interval '90 seconds')"
        )
        pending, oldest_age = await backlog(conn)
    finally:
        await transaction.rollback()
        await conn.close()
    assert pending >= 1
    assert oldest_age >= 90


# <<< part:events


def test_gathered_requests_reach_counter_and_histogram_on_flush() -> None:
    pending = PendingHttpMetrics()
    for seconds in (0.004, 0.005, 0.3, 99.0):  # 0.005 lands in le="0.005": `le` is inclusive
        pending.record("GET", "/flush-test", 200, seconds)
    pending.record("GET", "/flush-test", 503, 0.001)
    assert value("http_requests_total", method="GET", route="/flush-test", status="200") == 0
    pending.flush()
    labels = {"method": "GET", "route": "/flush-test"}
    assert value("http_requests_total", **labels, status="200") == 4
    assert value("http_requests_total", **labels, status="503") == 1
    assert value("http_request_duration_seconds_bucket", **labels, le="0.005") == 3
    assert value("http_request_duration_seconds_bucket", **labels, le="0.5") == 4
    assert value("http_request_duration_seconds_bucket", **labels, le="+Inf") == 5
    assert value("http_request_duration_seconds_sum", **labels) == pytest.approx(99.31)
