"""Deleting an account: DELETE /v1/accounts/me, `python -m app.cli delete-user`, and a row
deleted with plain SQL behind the service's back. Each way, the account's live tokens get 401
at /getName, /v1/users/search and the gateway's verify endpoint, and account.deleted is in the
outbox (with domain events)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from app.core.settings import Settings
from tests.accounts.conftest import log_in, sign_up
from tests.conftest import AppState
from tests.services import TestDatabase, TestRedis
from tests.test_cli import run_cli

# The listener acts when PostgreSQL delivers the notification, at commit: milliseconds. The
# test waits at most this long for it.
NOTIFICATION_BOUND_SECONDS = 2.0


# What /getName, the search and the gateway's verify endpoint answer a live and a deleted account.
ALIVE = [
    200,
    200,
    204,  # part:gateway
]
GONE = [
    401,
    401,
    401,  # part:gateway
]


async def answers(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> list[int]:
    # >>> part:gateway
    gateway = {**headers, "X-Gateway-Secret": settings.gateway_secret.get_secret_value()}
    # <<< part:gateway
    return [
        (await client.get("/getName", headers=headers)).status_code,
        (await client.get("/v1/users/search", params={"q": "acct"}, headers=headers)).status_code,
        (await client.get("/auth/verify", headers=gateway)).status_code,  # part:gateway
    ]


# >>> part:events
async def deleted_event_count(state: AppState, user_id: int) -> int:
    count: int = await state.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'account.deleted' AND aggregate_id = $1",
        user_id,
    )
    return count


# <<< part:events


async def user_id_of(state: AppState, username: str) -> int:
    user_id: int = await state.pool.fetchval("SELECT id FROM users WHERE username = $1", username)
    return user_id


async def test_deleting_the_account_ends_its_sessions_at_once(
    client: httpx.AsyncClient, state: AppState
) -> None:
    account = await sign_up(client)
    user_id = await user_id_of(state, account.username)
    headers, other = await log_in(client, account), await log_in(client, account)
    assert await answers(client, other, state.settings) == ALIVE  # profile cached
    response = await client.request(
        "DELETE", "/v1/accounts/me", json={"password": account.password}, headers=headers
    )
    assert response.status_code == 204
    assert await answers(client, other, state.settings) == GONE
    assert await state.redis.exists(f"user:{user_id}") == 0
    assert await deleted_event_count(state, user_id) == 1  # part:events
    assert (await client.post("/login", json=account.credentials)).status_code == 401


async def test_deletion_needs_the_password(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    response = await client.request(
        "DELETE", "/v1/accounts/me", json={"password": "not-the-password"}, headers=headers
    )
    assert response.status_code == 403
    assert (await client.get("/getName", headers=headers)).status_code == 200


async def test_a_row_deleted_with_plain_sql_loses_its_live_token_at_the_next_request(
    client: httpx.AsyncClient, state: AppState, database: TestDatabase
) -> None:
    account = await sign_up(client)
    user_id = await user_id_of(state, account.username)
    headers = await log_in(client, account)
    assert await answers(client, headers, state.settings) == ALIVE
    owner = await asyncpg.connect(database.url)  # behind the service's back
    try:
        await owner.execute("DELETE FROM users WHERE id = $1", user_id)
    finally:
        await owner.close()
    deadline = asyncio.get_running_loop().time() + NOTIFICATION_BOUND_SECONDS
    while await state.redis.exists(f"session:{headers['Authorization'].split()[1]}"):
        assert asyncio.get_running_loop().time() < deadline, "sessions still there"
        await asyncio.sleep(0.01)
    assert await answers(client, headers, state.settings) == GONE
    assert await deleted_event_count(state, user_id) == 1  # part:events


async def test_delete_user_on_the_command_line_ends_the_sessions(
    client: httpx.AsyncClient, state: AppState, database: TestDatabase, redis_db: TestRedis
) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    assert (await client.get("/getName", headers=headers)).status_code == 200
    result = await asyncio.to_thread(
        run_cli, database, redis_db, "delete-user", account.username.upper(), stdin=""
    )
    assert result.returncode == 0, result.stderr
    assert await answers(client, headers, state.settings) == GONE


async def test_delete_user_of_an_unknown_name_is_exit_code_1(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    result = await asyncio.to_thread(
        run_cli, database, redis_db, "delete-user", "nobody-at-all-here", stdin=""
    )
    assert result.returncode == 1
    assert "no user" in result.stderr
