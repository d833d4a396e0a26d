"""POST /v1/accounts/verify with the mailed token, GET /v1/accounts/me, the resend, and
EMAIL_VERIFICATION_REQUIRED at login."""

from __future__ import annotations

import hashlib

import httpx

from app.accounts.limits import TOKEN_USES_PER_ACCOUNT
from tests.accounts.conftest import (
    accounts_settings,
    log_in,
    new_account,
    next_mail,
    sign_up,
    verified,
)
from tests.conftest import AppState, http_client, running
from tests.services import TestDatabase, TestRedis
from tools.devstack.mail_catcher import MailCatcher


async def test_a_new_account_shows_its_address_unverified_at_me(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    me = await client.get("/v1/accounts/me", headers=await log_in(client, account))
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    assert me.json() | {"created_at": None} == {
        "username": account.username,
        "name": "",
        "email": account.email,
        "email_verified": False,
        "role": "user",
        "created_at": None,
    }


async def test_the_mailed_token_verifies_the_address(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    await verified(client, mail, account)
    me = await client.get("/v1/accounts/me", headers=await log_in(client, account))
    assert me.json()["email_verified"] is True


async def test_a_verification_token_works_once(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    token = (await next_mail(mail, account.email)).token
    assert (await client.post("/v1/accounts/verify", json={"token": token})).status_code == 204
    again = await client.post("/v1/accounts/verify", json={"token": token})
    assert again.status_code == 400
    assert again.json() == {"detail": "Invalid or expired token"}


async def test_the_token_is_stored_only_as_its_sha256(
    client: httpx.AsyncClient, mail: MailCatcher, state: AppState
) -> None:
    account = await sign_up(client)
    token = (await next_mail(mail, account.email)).token
    assert token is not None
    user_id, secret = token.split(".")
    stored = await state.redis.get(f"account_token:verify:{user_id}")
    assert stored is not None
    assert secret not in stored
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert 0 < await state.redis.ttl(f"account_token:verify:{user_id}") <= 24 * 3600


async def test_a_forged_token_for_an_account_is_400(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    token = (await next_mail(mail, account.email)).token
    assert token is not None
    forged = token.split(".")[0] + "." + "A" * 43
    response = await client.post("/v1/accounts/verify", json={"token": forged})
    assert response.status_code == 400


async def test_token_uses_per_account_are_limited(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    token = (await next_mail(mail, account.email)).token
    assert token is not None
    forged = token.split(".")[0] + "." + "B" * 43
    for _ in range(TOKEN_USES_PER_ACCOUNT.attempts):
        await client.post("/v1/accounts/verify", json={"token": forged})
    response = await client.post("/v1/accounts/verify", json={"token": token})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_a_resent_link_replaces_the_older_one(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    first = (await next_mail(mail, account.email)).token
    headers = await log_in(client, account)
    resent = await client.post("/v1/accounts/me/verification", headers=headers)
    assert resent.status_code == 202
    second = (await next_mail(mail, account.email, seen=1)).token
    assert second != first
    assert (await client.post("/v1/accounts/verify", json={"token": first})).status_code == 400
    assert (await client.post("/v1/accounts/verify", json={"token": second})).status_code == 204


async def test_an_unverified_account_cannot_log_in_when_verification_is_required(
    database: TestDatabase, redis_db: TestRedis, mail: MailCatcher
) -> None:
    settings = accounts_settings(database, redis_db, mail, email_verification_required=True)
    async with running(settings) as app, http_client(app) as client:
        account = await sign_up(client, new_account())
        refused = await client.post("/login", json=account.credentials)
        assert refused.status_code == 403
        assert "Verify your email" in refused.json()["detail"]
        wrong = await client.post("/login", json=account.credentials | {"password": "x" * 12})
        assert wrong.status_code == 401  # the wrong password learns nothing more
        await verified(client, mail, account)
        await log_in(client, account)
