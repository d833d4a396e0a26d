"""POST /v1/accounts/password-reset and /confirm: one answer for every address, a mailed
token that works once for 30 minutes, replaced by a newer request or a password change, and a
reset that ends every session."""

from __future__ import annotations

import secrets

import httpx

from app.accounts.limits import RESET_REQUESTS_PER_EMAIL
from tests.accounts.conftest import NewAccount, log_in, next_mail, sign_up, strong_password
from tests.conftest import AppState
from tools.devstack.mail_catcher import MailCatcher

RESET = "/v1/accounts/password-reset"


async def ask_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(RESET, json={"email": email})


async def reset_token(
    client: httpx.AsyncClient, mail: MailCatcher, account: NewAccount, *, seen: int = 0
) -> str:
    assert (await ask_reset(client, account.email)).status_code == 202
    token = (await next_mail(mail, account.email, seen=seen, subject="Reset")).token
    assert token is not None
    return token


async def confirm(client: httpx.AsyncClient, token: str, new: str) -> httpx.Response:
    return await client.post(f"{RESET}/confirm", json={"token": token, "new_password": new})


async def test_a_reset_request_answers_the_same_for_an_unknown_address(
    client: httpx.AsyncClient, state: AppState
) -> None:
    account = await sign_up(client)
    known = await ask_reset(client, account.email)
    unknown = await ask_reset(client, f"nobody.{secrets.token_hex(5)}@example.com")
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 202
    assert dict(known.headers) | {"x-request-id": ""} == dict(unknown.headers) | {
        "x-request-id": ""
    }


async def test_the_mailed_token_sets_a_new_password_and_ends_every_session(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    sessions = [await log_in(client, account), await log_in(client, account)]
    token = await reset_token(client, mail, account)
    assert token.split(".")[0].isdigit()
    new = strong_password()
    assert (await confirm(client, token, new)).status_code == 204
    for headers in sessions:
        assert (await client.get("/getName", headers=headers)).status_code == 401
    assert (await client.post("/login", json=account.credentials)).status_code == 401
    await log_in(client, NewAccount(account.username, account.email, new))


async def test_a_reset_token_works_once(client: httpx.AsyncClient, mail: MailCatcher) -> None:
    account = await sign_up(client)
    token = await reset_token(client, mail, account)
    assert (await confirm(client, token, strong_password())).status_code == 204
    again = await confirm(client, token, strong_password())
    assert again.status_code == 400


async def test_a_newer_reset_request_invalidates_the_older_token(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    older = await reset_token(client, mail, account)
    newer = await reset_token(client, mail, account, seen=1)
    assert (await confirm(client, older, strong_password())).status_code == 400
    assert (await confirm(client, newer, strong_password())).status_code == 204


async def test_a_password_change_invalidates_the_reset_token(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    token = await reset_token(client, mail, account)
    headers = await log_in(client, account)
    body = {"current_password": account.password, "new_password": strong_password()}
    assert (
        await client.post("/v1/accounts/me/password", json=body, headers=headers)
    ).status_code == 204
    assert (await confirm(client, token, strong_password())).status_code == 400


async def test_a_weak_password_leaves_the_token_usable(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    token = await reset_token(client, mail, account)
    assert (await confirm(client, token, "short")).status_code == 422
    assert (await confirm(client, token, strong_password())).status_code == 204


async def test_the_reset_token_lives_thirty_minutes(
    client: httpx.AsyncClient, mail: MailCatcher, state: AppState
) -> None:
    account = await sign_up(client)
    token = await reset_token(client, mail, account)
    ttl = await state.redis.ttl(f"account_token:reset:{token.split('.')[0]}")
    assert 0 < ttl <= 30 * 60


async def test_reset_requests_per_address_are_limited(client: httpx.AsyncClient) -> None:
    email = f"nobody.{secrets.token_hex(5)}@example.com"
    for _ in range(RESET_REQUESTS_PER_EMAIL.attempts):
        assert (await ask_reset(client, email)).status_code == 202
    response = await ask_reset(client, email.upper())
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
