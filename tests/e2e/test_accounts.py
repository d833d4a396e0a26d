"""Accounts end to end, black-box through the real nginx and gunicorn (two workers, each with
its mail sender and revocation listener) and a real SMTP listener: sign up, verify by mail,
log in, change the password, reset it by mail, delete the account."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.e2e.conftest import CLIENT_TIMEOUT, Account, login, stack_env
from tests.e2e.conftest import _run_dir as run_dir
from tests.e2e.target import BASE_URL
from tests.services import TestDatabase, TestRedis
from tools.devstack.mail_catcher import Mail, MailCatcher
from tools.devstack.processes import free_port
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

MAIL_WAIT_SECONDS = 10.0
ECHO = "/services/echo/whoami"  # part:gateway


@pytest.fixture(scope="module")
def mail() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()


@pytest.fixture(scope="module")
async def accounts_stack(
    request: pytest.FixtureRequest, mail: MailCatcher, redis_db: TestRedis
) -> AsyncIterator[LocalStack]:
    """A stack on a database of its own: every sender of the session's database (the
    in-process app of tests/accounts/ too) would take this stack's mail to its own listener."""
    if BASE_URL:
        pytest.skip("needs the local stack, whose mail it reads (E2E_BASE_URL is deployed)")
    database = await TestDatabase.create()
    env = stack_env(
        database,
        redis_db,
        MAIL_SENDER_ENABLED="true",
        SMTP_HOST=mail.host,
        SMTP_PORT=str(mail.port),
        MAIL_POLL_INTERVAL_SECONDS="1",
    )
    stack = LocalStack(
        env=env,
        http_port=free_port(),
        api_port=free_port(),
        echo_port=free_port(),
        workers=2,
        run_dir=run_dir("accounts"),
    )
    try:
        await asyncio.to_thread(stack.start)
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
        await database.drop()


async def next_mail(mail: MailCatcher, recipient: str, subject: str) -> Mail:
    for _ in range(int(MAIL_WAIT_SECONDS / 0.05)):
        found = [m for m in mail.to(recipient) if subject in m.subject]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} to {recipient}")


async def statuses(http: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    return [
        (await http.get("/getName", headers=headers)).status_code,
        (await http.get("/v1/users/search", params={"q": "e2e"}, headers=headers)).status_code,
        (await http.get(ECHO, headers=headers)).status_code,  # part:gateway
    ]


async def test_an_account_from_sign_up_to_deletion(
    accounts_stack: LocalStack, mail: MailCatcher
) -> None:
    tag = secrets.token_hex(5)
    email = f"e2e.{tag}@example.com"
    first = Account(f"e2e_acct_{tag}", secrets.token_urlsafe(16))
    async with httpx.AsyncClient(base_url=accounts_stack.base_url, timeout=CLIENT_TIMEOUT) as http:
        signed_up = await http.post(
            "/v1/accounts",
            json={"username": first.username, "email": email, "password": first.password},
        )
        assert signed_up.status_code == 201, signed_up.text

        verification = await next_mail(mail, email, "Confirm")
        verify = await http.post("/v1/accounts/verify", json={"token": verification.token})
        assert verify.status_code == 204

        mine, other = await login(http, first), await login(http, first)
        me = (await http.get("/v1/accounts/me", headers=mine)).json()
        assert (me["email"], me["email_verified"]) == (email, True)
        assert set(await statuses(http, other)) == {200}

        second = Account(first.username, secrets.token_urlsafe(16))
        changed = await http.post(
            "/v1/accounts/me/password",
            json={"current_password": first.password, "new_password": second.password},
            headers=mine,
        )
        assert changed.status_code == 204
        assert set(await statuses(http, other)) == {401}
        assert set(await statuses(http, mine)) == {200}
        await next_mail(mail, email, "password was changed")

        asked = await http.post("/v1/accounts/password-reset", json={"email": email.upper()})
        assert asked.status_code == 202
        reset_mail = await next_mail(mail, email, "Reset")
        third = Account(first.username, secrets.token_urlsafe(16))
        reset = await http.post(
            "/v1/accounts/password-reset/confirm",
            json={"token": reset_mail.token, "new_password": third.password},
        )
        assert reset.status_code == 204
        assert set(await statuses(http, mine)) == {401}

        last = await login(http, third)
        assert set(await statuses(http, last)) == {200}
        deleted = await http.request(
            "DELETE", "/v1/accounts/me", json={"password": third.password}, headers=last
        )
        assert deleted.status_code == 204
        assert set(await statuses(http, last)) == {401}
        gone = await http.post(
            "/login", json={"username": third.username, "password": third.password}
        )
        assert gone.status_code in (401, 429)
