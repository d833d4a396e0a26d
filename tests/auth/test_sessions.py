"""Bearer tokens: what is accepted, what is refused, renewal, expiry and logout."""

import asyncio
import time

import httpx
import pytest

from app.auth.sessions import (
    RENEWAL_STEP,
    session_deadline_key,
    session_key,
    sessions_index_key,
)
from tests.conftest import (
    AppState,
    UserFactory,
    http_client,
    login,
    make_settings,
    on_every_backend,
    running,
)
from tests.services import TestDatabase, TestRedis

pytestmark = on_every_backend


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-uuid",
        "Bearer 00000000-0000-4000-8000-000000000000",
        "Token 00000000-0000-4000-8000-000000000000",
    ],
)
async def test_missing_malformed_or_unknown_token_is_401_with_challenge(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/getName", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


async def test_scheme_is_case_insensitive(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    token = (await login(client, await make_user()))["Authorization"].split(" ")[1]
    for scheme in ("bearer", "BEARER", "BeArEr"):
        response = await client.get("/getName", headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200


async def test_a_request_renews_a_session_last_renewed_over_a_renewal_step_ago(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    token = (await login(client, user))["Authorization"].split()[1]
    ttl = state.settings.session_ttl_seconds
    due_ms = int(ttl * 1000 * (1 - RENEWAL_STEP)) - 1000  # renewed a step and a second ago
    await state.redis.pexpire(session_key(token), due_ms)
    await state.redis.pexpire(session_deadline_key(token), due_ms)
    started = int(time.time())
    assert (await client.get("/getName", headers=_bearer(token))).status_code == 200
    assert await state.redis.pttl(session_key(token)) > due_ms
    assert await state.redis.pttl(session_deadline_key(token)) > due_ms
    # The index entry and the index are renewed with it: /logout/all still finds the session.
    assert (await state.redis.zscore(sessions_index_key(user.id), token) or 0) >= started + ttl
    assert await state.redis.ttl(sessions_index_key(user.id)) > due_ms // 1000


async def test_a_session_read_again_within_a_renewal_step_is_only_read(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    token = (await login(client, user))["Authorization"].split()[1]
    young_ms = int(state.settings.session_ttl_seconds * 1000 * (1 - RENEWAL_STEP / 2))
    await state.redis.pexpire(session_key(token), young_ms)  # renewed half a step ago
    entry = await state.redis.zscore(sessions_index_key(user.id), token)
    for _ in range(2):
        assert (await client.get("/getName", headers=_bearer(token))).status_code == 200
    assert await state.redis.pttl(session_key(token)) <= young_ms
    assert await state.redis.zscore(sessions_index_key(user.id), token) == entry


async def test_a_session_read_within_each_renewal_step_still_ends_at_its_deadline(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    """Reads that skip the renewal extend nothing: the deadline ends a session in constant use."""
    capped = make_settings(
        database, redis_db, session_ttl_seconds=2, session_max_lifetime_seconds=4
    )
    user = await make_user()
    async with running(capped) as app, http_client(app) as client:
        auth = await login(client, user)
        started = time.monotonic()
        # Past the idle TTL, read every 50 ms; the deadline is in whole seconds, so it can come
        # up to a second early.
        while time.monotonic() - started < 2.5:
            assert (await client.get("/getName", headers=auth)).status_code == 200
            await asyncio.sleep(0.05)
        while time.monotonic() - started < 4.5:  # past the 4 s lifetime
            await client.get("/getName", headers=auth)
            await asyncio.sleep(0.05)
        assert (await client.get("/getName", headers=auth)).status_code == 401


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_logout_stops_the_token_at_once(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(client, await make_user())
    assert (await client.post("/logout", headers=auth)).status_code == 204
    assert (await client.get("/getName", headers=auth)).status_code == 401


async def test_logout_leaves_other_sessions_of_the_user_working(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    first, second = await login(client, user), await login(client, user)
    await client.post("/logout", headers=first)
    assert (await client.get("/getName", headers=second)).status_code == 200


async def test_logout_all_stops_every_session_of_the_caller_only(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user, other = await make_user(), await make_user()
    sessions = [await login(client, user) for _ in range(3)]
    bystander = await login(client, other)
    assert (await client.post("/logout/all", headers=sessions[0])).status_code == 204
    for auth in sessions:
        assert (await client.get("/getName", headers=auth)).status_code == 401
    assert (await client.get("/getName", headers=bystander)).status_code == 200


async def test_session_index_entries_expire_with_their_session(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    await login(client, user)
    index_ttl = await state.redis.ttl(sessions_index_key(user.id))
    assert 0 < index_ttl <= state.settings.session_ttl_seconds


async def test_token_stops_working_after_its_lifetime(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    short = make_settings(database, redis_db, session_ttl_seconds=1)
    user = await make_user()
    async with running(short) as app, http_client(app) as client:
        auth = await login(client, user)
        assert (await client.get("/getName", headers=auth)).status_code == 200
        await asyncio.sleep(2.2)
        assert (await client.get("/getName", headers=auth)).status_code == 401


async def test_renewal_never_extends_a_session_past_its_absolute_lifetime(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    capped = make_settings(
        database, redis_db, session_ttl_seconds=2, session_max_lifetime_seconds=5
    )
    user = await make_user()
    async with running(capped) as app, http_client(app) as client:
        auth = await login(client, user)
        started = time.monotonic()
        while time.monotonic() - started < 3.5:  # renewed well past the 2 s idle timeout
            assert (await client.get("/getName", headers=auth)).status_code == 200
            await asyncio.sleep(0.5)
        while time.monotonic() - started < 6:  # still in use, but past the 5 s lifetime
            await client.get("/getName", headers=auth)
            await asyncio.sleep(0.5)
        assert (await client.get("/getName", headers=auth)).status_code == 401


async def test_a_renewed_session_expires_no_later_than_its_deadline(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    capped = make_settings(database, redis_db, session_max_lifetime_seconds=30)
    user = await make_user()
    async with running(capped) as app, http_client(app) as client:
        auth = await login(client, user)
        assert (await client.get("/getName", headers=auth)).status_code == 200
        token = auth["Authorization"].split(" ")[1]
        assert 0 < await app.state.redis.ttl(session_key(token)) <= 30


async def test_login_prunes_dead_entries_from_the_session_index(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    index = sessions_index_key(user.id)
    await state.redis.zadd(index, {"dead-session": int(time.time()) - 10})
    await login(client, user)
    assert await state.redis.zscore(index, "dead-session") is None
