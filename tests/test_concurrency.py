"""Many sessions at once: every user reads back exactly its own last name."""

import asyncio
import random

import httpx

from tests.conftest import UserFactory, login

USERS = 50
ROUNDS = 3  # per round 50 logins + 50 setName + 100 getName, all 200 in flight together


async def test_concurrent_logins_and_renames_never_mix_users(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
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
