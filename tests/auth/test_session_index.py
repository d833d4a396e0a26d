"""The per-user session index (`{user:<id>}:sessions`, what /logout/all reads) and the first
lifetime of a session: properties no test pinned before (each was shown by a seeded bug that
the suite let pass)."""

from __future__ import annotations

import asyncio
import time

import httpx

from app.auth.sessions import session_key, sessions_index_key
from tests.conftest import AppState, UserFactory, http_client, login, make_settings, running
from tests.services import TestDatabase, TestRedis


async def test_logout_all_leaves_no_revoked_token_in_the_index(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    for _ in range(3):
        await login(client, user)
    auth = await login(client, user)
    index = sessions_index_key(user.id)
    assert await state.redis.zcard(index) == 4
    assert (await client.post("/logout/all", headers=auth)).status_code == 204
    assert await state.redis.zrange(index, 0, -1) == []


async def test_the_index_lives_as_long_as_its_sessions_are_renewed(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    """Sessions that are used outlive the first idle TTL; so must their index entries and the
    index itself, or /logout/all (and the pruning at login) would miss them."""
    short = make_settings(database, redis_db, session_ttl_seconds=3)
    user = await make_user()
    async with running(short) as app, http_client(app) as client:
        auth = await login(client, user)
        token = auth["Authorization"].split()[1]
        index = sessions_index_key(user.id)
        started = time.monotonic()
        while time.monotonic() - started < 7:  # over two idle TTLs, renewed all along
            assert (await client.get("/getName", headers=auth)).status_code == 200
            await asyncio.sleep(0.3)
        redis = app.state.redis
        assert 0 < await redis.ttl(index) <= 3  # renewed with the sessions, never without a TTL
        assert (await redis.zscore(index, token) or 0) > time.time()  # not taken for dead
        later = await login(client, user)  # prunes entries it takes for dead
        assert await redis.zscore(index, token) is not None
        assert (await client.post("/logout/all", headers=later)).status_code == 204
        for headers in (auth, later):
            assert (await client.get("/getName", headers=headers)).status_code == 401


async def test_a_max_lifetime_shorter_than_the_idle_ttl_caps_the_first_one(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    """SESSION_MAX_LIFETIME_SECONDS below SESSION_TTL_SECONDS is a valid setting (the absolute
    lifetime wins): the token is issued with the shorter lifetime, says so, and ends with it."""
    capped = make_settings(
        database, redis_db, session_ttl_seconds=60, session_max_lifetime_seconds=2
    )
    user = await make_user()
    async with running(capped) as app, http_client(app) as client:
        response = await client.post(
            "/login", json={"username": user.username, "password": user.password}
        )
        assert response.status_code == 200
        assert response.json()["expires_in"] == 2
        token = response.json()["access_token"]
        assert 0 < await app.state.redis.ttl(session_key(token)) <= 2
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/getName", headers=auth)).status_code == 200
        await asyncio.sleep(2.5)
        assert (await client.get("/getName", headers=auth)).status_code == 401
