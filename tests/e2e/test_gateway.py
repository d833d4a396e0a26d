"""One login for every service: nginx asks the app (`auth_request` to /auth/verify) and hands
the caller's identity to the echo service, which knows nothing about sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import CLIENT_TIMEOUT, AccountFactory, login, start_stack
from tests.e2e.target import Target
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

ECHO = "/services/echo/whoami"
FORGED = {"X-User-Id": "0", "X-Username": "admin", "X-User-Role": "admin"}  # ids start at 1


async def test_valid_token_reaches_the_service_with_the_callers_identity(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    account = await new_account()
    headers = await login(http, account)
    response = await http.get(ECHO, headers={**headers, "X-Request-ID": "e2e-echo-1"})
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["username"] == account.username
    assert str(seen["user_id"]).isdigit()
    if account.id is not None:
        assert seen["user_id"] == str(account.id)
    assert seen["request_id"] == "e2e-echo-1"
    assert seen["path"] == ECHO


@pytest.mark.parametrize(
    "authorization",
    [None, f"Bearer {uuid.uuid4()}", "Bearer not-a-token", "Basic YWRtaW46YWRtaW4="],
    ids=["no-token", "unknown-token", "malformed-token", "other-scheme"],
)
async def test_without_a_valid_token_the_service_is_not_reached(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = dict(FORGED)
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await http.get(ECHO, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]


async def test_identity_headers_sent_by_the_client_are_replaced(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    account = await new_account()
    headers = await login(http, account)
    seen = (await http.get(ECHO, headers={**headers, **FORGED})).json()
    assert seen["username"] == account.username
    assert seen["user_id"] != FORGED["X-User-Id"]
    assert dict(seen["headers"])["x-user-role"] == "user"


async def test_logged_out_token_is_refused(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    headers = await login(http, await new_account())
    assert (await http.get(ECHO, headers=headers)).status_code == 200
    assert (await http.post("/logout", headers=headers)).status_code == 204
    assert (await http.get(ECHO, headers=headers)).status_code == 401


@pytest.fixture(scope="module")
def short_session_stack(request: pytest.FixtureRequest, target: Target) -> Iterator[LocalStack]:
    """A second stack whose sessions live one second (SESSION_TTL_SECONDS=1)."""
    target.local()
    stack = start_stack(request, "short-ttl", SESSION_TTL_SECONDS="1")
    try:
        yield stack
    finally:
        stack.stop()


async def test_expired_token_is_refused(
    short_session_stack: LocalStack, new_account: AccountFactory
) -> None:
    base_url = short_session_stack.base_url
    async with httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        headers = await login(client, await new_account())
        assert (await client.get(ECHO, headers=headers)).status_code == 200
        await asyncio.sleep(2.2)
        expired = await client.get(ECHO, headers=headers)
    assert expired.status_code == 401
