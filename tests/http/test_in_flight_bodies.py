"""Bodies that arrive slowly (or never) do not hold the worker's MAX_REQUESTS_IN_FLIGHT slots
(app/http/in_flight.py).

The probe's case: with the bound at 16, 20 requests whose bodies never came made every
authenticated request and a correct /login answer 503 until the body deadline."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx

from app.core.settings import Settings
from tests.conftest import UserFactory, http_client, login, running
from tests.http.test_in_flight import rename_at_work
from tests.services import TestDatabase

JSON = {"Content-Type": "application/json"}


async def held_body(
    release: asyncio.Event, rest: bytes = b'"password": "pw"}'
) -> AsyncIterator[bytes]:
    """A JSON body whose first part comes at once and the rest once `release` is set."""
    yield f'{{"username": "held_{secrets.token_hex(4)}", '.encode()
    await release.wait()
    yield rest


def start_held_logins(
    client: httpx.AsyncClient, release: asyncio.Event, count: int
) -> list[asyncio.Task[httpx.Response]]:
    return [
        asyncio.create_task(client.post("/login", content=held_body(release), headers=JSON))
        for _ in range(count)
    ]


async def test_bodies_that_never_come_leave_the_slots_to_admitted_work(
    settings: Settings, make_user: UserFactory
) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 16})
    release = asyncio.Event()
    user = await make_user()
    async with running(bounded) as app, http_client(app) as client:
        auth = await login(client, user)
        held = start_held_logins(client, release, 20)
        await asyncio.sleep(0.3)  # every one of them is in the app, waiting for its body
        try:
            get_name = await client.get("/getName", headers=auth)
            correct_login = await client.post(
                "/login", json={"username": user.username, "password": user.password}
            )
            renamed = await client.post("/setName", json={"name": "Admitted"}, headers=auth)
            assert not any(task.done() for task in held)  # still waiting while we were served
        finally:
            release.set()
            ended = await asyncio.gather(*held)
    assert get_name.status_code == 200
    assert correct_login.status_code == 200
    assert renamed.status_code == 200
    # Once their bodies came: no such user, or the password hasher's queue was full.
    assert {answer.status_code for answer in ended} <= {401, 503}


async def test_a_body_completing_while_the_worker_is_full_is_shed_then(
    settings: Settings, database: TestDatabase, make_user: UserFactory
) -> None:
    """The one slot is free while the login waits for its body; a rename takes it; when the
    login's body arrives it is shed like a new request."""
    bounded = settings.model_copy(update={"max_requests_in_flight": 1})
    release = asyncio.Event()
    async with running(bounded) as app, http_client(app) as client:
        (held_login,) = start_held_logins(client, release, 1)
        await asyncio.sleep(0.2)
        async with rename_at_work(client, database, make_user) as rename:
            release.set()
            shed = await asyncio.wait_for(held_login, 2)
        renamed = await rename
    assert renamed.status_code == 200
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.headers["cache-control"] == "no-store"
    assert shed.json() == {
        "detail": "Too many requests in progress; retry shortly",
        "dependency": "worker",
    }
