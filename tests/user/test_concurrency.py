"""Many sessions at once: every user reads back exactly its own last name."""

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import UserFactory, http_client, login, make_settings, running
from tests.services import TestDatabase, TestRedis

USERS = 50
ROUNDS = 3  # per round 50 logins + 50 setName + 100 getName, all 200 in flight together


@pytest.fixture
async def patient_client(
    database: TestDatabase, redis_db: TestRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """50 logins at once queue ~50 hashes in this one process: more than the default
    LOGIN_MAX_QUEUE_SECONDS sheds on a slow host (tests/auth/test_overload.py covers shedding)."""
    settings = make_settings(database, redis_db, login_max_queue_seconds=60)
    async with running(settings) as app, http_client(app) as client:
        yield client


async def test_concurrent_logins_and_renames_never_mix_users(
    patient_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    client = patient_client
    users = await asyncio.gather(*(make_user(name="start") for _ in range(USERS)))
    sessions = await asyncio.gather(*(login(client, user) for user in users))
    last_written: dict[int, str] = {}

    async def rename(index: int, round_no: int) -> None:
        name = f"{users[index].username} round {round_no}"
        response = await client.post("/setName", json={"name": name}, headers=sessions[index])
        assert response.status_code == 200, response.text
        assert response.json() == {"username": users[index].username, "name": name}

    async def read(index: int) -> None:
        response = await client.get("/getName", headers=sessions[index])
        assert response.status_code == 200
        assert response.json()["username"] == users[index].username

    for round_no in range(ROUNDS):
        order = list(range(USERS))
        random.shuffle(order)
        await asyncio.gather(
            *(rename(i, round_no) for i in order),
            *(read(i) for i in order),
            *(read(i) for i in reversed(order)),
            *(login(client, users[i]) for i in order),
        )
        for i in order:
            last_written[i] = f"{users[i].username} round {round_no}"

    finals = await asyncio.gather(*(client.get("/getName", headers=s) for s in sessions))
    for index, response in enumerate(finals):
        assert response.json() == {"username": users[index].username, "name": last_written[index]}
