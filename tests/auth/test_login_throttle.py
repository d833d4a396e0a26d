"""The failed-login throttle: one bucket per account whatever the spelling, counted atomically."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import AppState, User, UserFactory


# Spellings of "alice…" that a client may send. PostgreSQL's lower() maps U+0130 (İ) to "i", so
# that one reaches the account; the others are other names (or refused) and must not log in.
def fullwidth(name: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in name)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper-case": str.upper,
    "dotted-capital-i": lambda name: name.replace("i", "\u0130"),
    "fullwidth": fullwidth,
    "no-break-space": lambda name: name.replace("c", "\u00a0c"),
    "combining-dot": lambda name: name.replace("i", "i\u0307"),
}


async def new_alice(make_user: UserFactory) -> User:
    return await make_user(username=f"alice{secrets.token_hex(4)}")


async def fail(client: httpx.AsyncClient, username: str) -> int:
    body = {"username": username, "password": "wrong-password"}
    return (await client.post("/login", json=body)).status_code


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_no_spelling_of_a_locked_account_logs_in(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState, spelling: str
) -> None:
    alice = await new_alice(make_user)
    for _ in range(state.settings.login_max_failures):
        assert await fail(client, alice.username) == 401
    variant = SPELLINGS[spelling](alice.username)
    response = await client.post("/login", json={"username": variant, "password": alice.password})
    assert response.status_code in {401, 422, 429}, response.text


async def test_failures_under_every_spelling_of_an_account_share_one_bucket(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    alice = await new_alice(make_user)
    name = alice.username
    spellings = [name, name.upper(), name.replace("i", "\u0130"), name.title(), name.swapcase()]
    for attempt in range(state.settings.login_max_failures):
        assert await fail(client, spellings[attempt % len(spellings)]) == 401
    good = {"username": name, "password": alice.password}
    throttled = await client.post("/login", json=good)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


async def test_a_parallel_burst_of_wrong_passwords_gets_only_the_allowed_attempts(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    alice = await new_alice(make_user)
    limit = state.settings.login_max_failures
    statuses = await asyncio.gather(*(fail(client, alice.username) for _ in range(limit + 6)))
    assert sorted(statuses) == [401] * limit + [429] * 6


async def test_unknown_names_are_counted_under_the_databases_folding(
    client: httpx.AsyncClient, state: AppState
) -> None:
    ghost = f"ghost{secrets.token_hex(4)}"
    spellings = [ghost, ghost.upper(), ghost.title()]
    for attempt in range(state.settings.login_max_failures):
        assert await fail(client, spellings[attempt % len(spellings)]) == 401
    assert await fail(client, ghost.swapcase()) == 429
