"""POST /v1/accounts: the account, its verification mail, the username and password rules, a
taken address that is not revealed, the switch and the per-address limit."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest

from app.accounts.limits import SIGNUP_PER_EMAIL
from tests.accounts.conftest import (
    NewAccount,
    accounts_settings,
    log_in,
    new_account,
    next_mail,
    sign_up,
    strong_password,
)
from tests.conftest import AppState, http_client, running
from tests.services import TestDatabase, TestRedis
from tools.devstack.mail_catcher import MailCatcher


def body(account: NewAccount) -> dict[str, str]:
    return {"username": account.username, "email": account.email, "password": account.password}


async def test_signup_answers_201_and_the_account_logs_in(client: httpx.AsyncClient) -> None:
    account = new_account()
    response = await client.post("/v1/accounts", json=body(account))
    assert response.status_code == 201
    assert response.json() == {
        "username": account.username,
        "email": account.email,
        "email_verified": False,
        "detail": "Account created; a verification link was sent to the address",
    }
    await log_in(client, account)


async def test_signup_mails_a_verification_link_in_text_and_html(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    message = await next_mail(mail, account.email)
    assert message.subject == "Confirm your email address for Accounts Test Service"
    assert message.link is not None
    assert message.link.startswith("http://localhost:8080/verify-email#token=")
    assert account.username in message.text
    assert "Accounts Test Service" in message.html
    assert f'href="{message.link}"' in message.html


async def test_signup_stores_the_address_trimmed_and_in_lower_case(
    client: httpx.AsyncClient, state: AppState
) -> None:
    account = new_account()
    shouted = NewAccount(account.username, f"  {account.email.upper()} ", account.password)
    response = await client.post("/v1/accounts", json=body(shouted))
    assert response.json()["email"] == account.email
    stored = await state.pool.fetchval(
        "SELECT email FROM users WHERE username = $1", account.username
    )
    assert stored == account.email


# Spellings of a taken name: PostgreSQL's lower() decides, as it does for login (FIND_USER_SQL).
SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper-case": str.upper,
    "dotted-capital-i": lambda name: name.replace("i", "\u0130"),
    "kelvin-sign": lambda name: name.replace("k", "\u212a"),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_a_spelling_that_login_folds_to_a_taken_username_is_409(
    client: httpx.AsyncClient, state: AppState, spelling: str
) -> None:
    first = await sign_up(client, new_account("kilik"))
    other = SPELLINGS[spelling](first.username)
    again = NewAccount(other, new_account().email, strong_password())
    response = await client.post("/v1/accounts", json=body(again))
    same = await state.pool.fetchval("SELECT lower($1) = lower($2)", first.username, other)
    assert response.status_code == (409 if same else 201)
    if same:
        assert response.json() == {"detail": "This username is taken"}
        # ... and login with that spelling reaches the first account.
        as_first = NewAccount(other, first.email, first.password)
        await log_in(client, as_first)


async def test_a_taken_address_answers_like_a_new_account_and_mails_its_owner(
    client: httpx.AsyncClient, mail: MailCatcher, state: AppState
) -> None:
    owner = await sign_up(client)
    await next_mail(mail, owner.email, subject="Confirm")
    intruder = NewAccount(new_account().username, owner.email.upper(), strong_password())
    response = await client.post("/v1/accounts", json=body(intruder))
    assert response.status_code == 201
    assert response.json()["email"] == owner.email
    notice = await next_mail(mail, owner.email, subject="tried to sign up")
    assert "No account was created" in notice.text
    assert notice.token is None
    created = await state.pool.fetchval(
        "SELECT count(*) FROM users WHERE username = $1", intruder.username
    )
    assert created == 0


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw", "at least 12 characters"),
        ("password1234", "too common"),
        ("x" * 129, "at most 128"),
        (None, "must not be the username"),
    ],
    ids=["too-short", "common", "too-long", "the-username"],
)
async def test_a_weak_password_is_refused_with_the_reason(
    client: httpx.AsyncClient, password: str | None, reason: str
) -> None:
    account = new_account("longusername")
    candidate = password or account.username.upper()
    response = await client.post("/v1/accounts", json={**body(account), "password": candidate})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "password"]
    assert reason in error["msg"]
    assert candidate not in response.text


async def test_signup_refuses_fields_it_does_not_know(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/accounts", json={**body(new_account()), "role": "admin"})
    assert response.status_code == 422


@pytest.mark.parametrize("email", ["no-at-sign", "two@@example.com", "sp ace@example.com", "@x"])
async def test_an_address_that_is_not_one_is_refused(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/v1/accounts", json={**body(new_account()), "email": email})
    assert response.status_code == 422


async def test_signup_can_be_switched_off(
    database: TestDatabase, redis_db: TestRedis, mail: MailCatcher
) -> None:
    settings = accounts_settings(
        database, redis_db, mail, signup_enabled=False, mail_sender_enabled=False
    )
    async with running(settings) as app, http_client(app) as client:
        response = await client.post("/v1/accounts", json=body(new_account()))
    assert response.status_code == 403
    assert response.json() == {"detail": "Sign-up is disabled"}


async def test_signups_per_address_are_limited_with_retry_after(client: httpx.AsyncClient) -> None:
    email = f"busy.{secrets.token_hex(5)}@example.com"
    for _ in range(SIGNUP_PER_EMAIL.attempts):
        attempt = NewAccount(new_account().username, email, strong_password())
        assert (await client.post("/v1/accounts", json=body(attempt))).status_code == 201
    response = await client.post("/v1/accounts", json=body(new_account()) | {"email": email})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= SIGNUP_PER_EMAIL.window_seconds
    assert response.json() == {"detail": "Too many attempts; retry later"}


# >>> part:events
async def test_signup_writes_an_account_created_event(
    client: httpx.AsyncClient, state: AppState
) -> None:
    account = await sign_up(client)
    payload = await state.pool.fetchval(
        "SELECT payload->>'username' FROM outbox WHERE event_type = 'account.created'"
        " AND payload->>'username' = $1",
        account.username,
    )
    assert payload == account.username


# <<< part:events


async def test_a_method_the_path_lacks_is_405_naming_every_method_it_has(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("OPTIONS", "/v1/accounts/me")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "DELETE"}
    assert response.json() == {"detail": "Method Not Allowed"}
