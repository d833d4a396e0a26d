"""The accounts tests' app: the real one, with its mail sender on and pointed at a real SMTP
listener (aiosmtpd on a free port) whose messages the tests read."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from app.core.settings import Settings
from tests.conftest import AppState, RunningApp, http_client, make_settings, running
from tests.services import TestDatabase, TestRedis
from tools.devstack.mail_catcher import Mail, MailCatcher

MAIL_WAIT_SECONDS = 5.0


@pytest.fixture(scope="session")
def mail() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()


def accounts_settings(
    database: TestDatabase, redis_db: TestRedis, mail: MailCatcher, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "mail_sender_enabled": True,
        "smtp_port": mail.port,
        "mail_poll_interval_seconds": 1.0,
        "service_name": "Accounts Test Service",
    }
    return make_settings(database, redis_db, **(values | overrides))


@pytest.fixture(scope="session")
async def accounts_app(
    database: TestDatabase, redis_db: TestRedis, mail: MailCatcher
) -> AsyncIterator[RunningApp]:
    async with running(accounts_settings(database, redis_db, mail)) as started:
        yield started


@pytest.fixture(scope="session")
def state(accounts_app: RunningApp) -> AppState:
    return accounts_app.state


@pytest.fixture
async def client(accounts_app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(accounts_app) as http:
        yield http


async def next_mail(mail: MailCatcher, recipient: str, *, seen: int = 0, subject: str = "") -> Mail:
    """The first mail to `recipient` whose subject has `subject`, after `seen` such mails;
    waits for the sender."""
    deadline = asyncio.get_running_loop().time() + MAIL_WAIT_SECONDS
    while True:
        fresh = [m for m in mail.to(recipient) if subject in m.subject][seen:]
        if fresh:
            return fresh[0]
        if asyncio.get_running_loop().time() > deadline:
            got = [m.subject for m in mail.to(recipient)]
            raise AssertionError(f"no mail {subject!r} to {recipient} (got {got})")
        await asyncio.sleep(0.05)


def strong_password() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class NewAccount:
    username: str
    email: str
    password: str

    @property
    def credentials(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


def new_account(prefix: str = "acct") -> NewAccount:
    tag = secrets.token_hex(5)
    return NewAccount(f"{prefix}_{tag}", f"{prefix}.{tag}@example.com", strong_password())


async def sign_up(client: httpx.AsyncClient, account: NewAccount | None = None) -> NewAccount:
    account = account or new_account()
    body = {"username": account.username, "email": account.email, "password": account.password}
    response = await client.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    return account


async def log_in(client: httpx.AsyncClient, account: NewAccount) -> dict[str, str]:
    response = await client.post("/login", json=account.credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": response.headers["Authorization"]}


async def verified(client: httpx.AsyncClient, mail: MailCatcher, account: NewAccount) -> None:
    """Confirms the account's address with the token of its verification mail."""
    token = (await next_mail(mail, account.email, subject="Confirm")).token
    response = await client.post("/v1/accounts/verify", json={"token": token})
    assert response.status_code == 204, response.text
