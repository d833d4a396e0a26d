"""POST /v1/accounts/me/password: the caller's session stays, the others end, a notice goes out,
the current password is required and its attempts are limited."""

from __future__ import annotations

import httpx

from app.accounts.limits import PASSWORD_CHECKS_PER_ACCOUNT
from tests.accounts.conftest import NewAccount, log_in, next_mail, sign_up, strong_password
from tools.devstack.mail_catcher import MailCatcher


async def change(
    client: httpx.AsyncClient, headers: dict[str, str], current: str, new: str
) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await client.post("/v1/accounts/me/password", json=body, headers=headers)


async def test_a_password_change_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    mine, other = await log_in(client, account), await log_in(client, account)
    new = strong_password()
    assert (await change(client, mine, account.password, new)).status_code == 204
    assert (await client.get("/getName", headers=mine)).status_code == 200
    assert (await client.get("/getName", headers=other)).status_code == 401
    assert (await client.post("/login", json=account.credentials)).status_code == 401
    await log_in(client, NewAccount(account.username, account.email, new))


async def test_a_password_change_mails_a_notice(
    client: httpx.AsyncClient, mail: MailCatcher
) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    assert (await change(client, headers, account.password, strong_password())).status_code == 204
    notice = await next_mail(mail, account.email, subject="password was changed")
    assert "other sessions were logged out" in notice.text


async def test_a_wrong_current_password_is_403_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    response = await change(client, headers, "not-the-password", strong_password())
    assert response.status_code == 403
    assert response.json() == {"detail": "The password is wrong"}
    await log_in(client, account)


async def test_a_weak_new_password_is_422(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    response = await change(client, headers, account.password, "123456qwerty")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "new_password"]


async def test_password_checks_per_account_are_limited(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    headers = await log_in(client, account)
    for _ in range(PASSWORD_CHECKS_PER_ACCOUNT.attempts):
        await change(client, headers, "not-the-password", strong_password())
    response = await change(client, headers, account.password, strong_password())
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_a_password_change_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await change(client, {}, "whatever-password", strong_password())
    assert response.status_code == 401
