"""Roles: the admin endpoints (list, search, disable, enable) for the admin role only, a
disabled account's sessions end at once and it cannot log in, `create-user --admin`, and the
gateway's X-User-Role."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg  # part:gateway
import httpx

from tests.accounts.conftest import NewAccount, log_in, sign_up
from tests.conftest import AppState
from tests.services import TestDatabase, TestRedis
from tests.test_cli import run_cli

ADMIN = "/v1/admin/accounts"


async def admin_headers(
    client: httpx.AsyncClient, database: TestDatabase, redis_db: TestRedis
) -> dict[str, str]:
    admin = NewAccount(f"admin_{secrets.token_hex(5)}", "", secrets.token_urlsafe(16))
    result = await asyncio.to_thread(
        run_cli, database, redis_db, "create-user", admin.username, "--admin", stdin=admin.password
    )
    assert result.returncode == 0, result.stderr
    assert "created admin" in result.stdout
    return await log_in(client, admin)


async def test_an_admin_searches_accounts_by_part_of_a_username_or_address(
    client: httpx.AsyncClient, database: TestDatabase, redis_db: TestRedis
) -> None:
    headers = await admin_headers(client, database, redis_db)
    account = await sign_up(client)
    by_name = await client.get(ADMIN, params={"q": account.username[5:].upper()}, headers=headers)
    assert by_name.status_code == 200
    assert [a["username"] for a in by_name.json()] == [account.username]
    by_email = await client.get(ADMIN, params={"q": account.email}, headers=headers)
    [found] = by_email.json()
    assert found["email"] == account.email
    assert found["disabled"] is False
    assert found["role"] == "user"


async def test_the_account_list_pages_by_id(
    client: httpx.AsyncClient, database: TestDatabase, redis_db: TestRedis
) -> None:
    headers = await admin_headers(client, database, redis_db)
    first = (await client.get(ADMIN, params={"limit": 2}, headers=headers)).json()
    after = first[-1]["id"]
    rest = (await client.get(ADMIN, params={"limit": 2, "after_id": after}, headers=headers)).json()
    assert len(first) == 2
    assert all(a["id"] > after for a in rest)


async def test_a_user_gets_403_from_the_admin_endpoints(client: httpx.AsyncClient) -> None:
    headers = await log_in(client, await sign_up(client))
    response = await client.get(ADMIN, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Not allowed for your role"}
    assert (await client.post(f"{ADMIN}/1/disable", headers=headers)).status_code == 403


async def test_disabling_ends_the_sessions_at_once_and_refuses_login_until_enabled(
    client: httpx.AsyncClient, state: AppState, database: TestDatabase, redis_db: TestRedis
) -> None:
    headers = await admin_headers(client, database, redis_db)
    account = await sign_up(client)
    user_id = await state.pool.fetchval(
        "SELECT id FROM users WHERE username = $1", account.username
    )
    session = await log_in(client, account)
    assert (await client.post(f"{ADMIN}/{user_id}/disable", headers=headers)).status_code == 204
    assert (await client.get("/getName", headers=session)).status_code == 401
    refused = await client.post("/login", json=account.credentials)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This account is disabled"}
    wrong = await client.post("/login", json=account.credentials | {"password": "x" * 12})
    assert wrong.status_code == 401  # a guess learns nothing of the switch
    assert (await client.post(f"{ADMIN}/{user_id}/enable", headers=headers)).status_code == 204
    await log_in(client, account)


async def test_disabling_an_unknown_account_is_404(
    client: httpx.AsyncClient, database: TestDatabase, redis_db: TestRedis
) -> None:
    headers = await admin_headers(client, database, redis_db)
    response = await client.post(f"{ADMIN}/{2**62}/disable", headers=headers)
    assert response.status_code == 404


# >>> part:gateway
async def test_the_gateway_hands_the_role_to_the_services_behind_it(
    client: httpx.AsyncClient, state: AppState, database: TestDatabase, redis_db: TestRedis
) -> None:
    secret = {"X-Gateway-Secret": state.settings.gateway_secret.get_secret_value()}
    admin = await admin_headers(client, database, redis_db)
    user = await log_in(client, await sign_up(client))
    for headers, role in ((admin, "admin"), (user, "user")):
        cold = await client.get("/auth/verify", headers={**headers, **secret})
        warm = await client.get("/auth/verify", headers={**headers, **secret})  # cached profile
        assert cold.headers["X-User-Role"] == warm.headers["X-User-Role"] == role


# <<< part:gateway


# >>> part:gateway
async def test_a_role_changed_with_plain_sql_reaches_the_gateway(
    client: httpx.AsyncClient, state: AppState, database: TestDatabase
) -> None:
    secret = {"X-Gateway-Secret": state.settings.gateway_secret.get_secret_value()}
    account = await sign_up(client)
    headers = {**await log_in(client, account), **secret}
    assert (await client.get("/auth/verify", headers=headers)).headers["X-User-Role"] == "user"
    owner = await asyncpg.connect(database.url)
    try:
        await owner.execute("UPDATE users SET role = 'admin' WHERE username = $1", account.username)
    finally:
        await owner.close()
    for _ in range(200):
        role = (await client.get("/auth/verify", headers=headers)).headers["X-User-Role"]
        if role == "admin":
            break
        await asyncio.sleep(0.01)
    assert role == "admin"


# <<< part:gateway
