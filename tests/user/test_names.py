"""GET /getName and POST /setName: the caller's own name, validated, stored exactly."""

import httpx
import pytest

from app.user.schemas import UserName
from tests.conftest import AppState, UserFactory, login

EXACT_NAMES = [
    "Robert'); DROP TABLE users;--",
    'He said "hi" \\ back',
    "Zoë 👩‍💻 🎉",
    "مرحبا بالعالم",
    "שלום עולם",
    "李小龙",
    "%_ wildcard $1",
]


async def test_get_name_returns_the_callers_username_and_name(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(name="Ada Lovelace")
    response = await client.get("/getName", headers=await login(client, user))
    assert response.status_code == 200
    assert response.json() == {"username": user.username, "name": "Ada Lovelace"}


async def test_set_name_then_get_name_reads_it_back(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(name="Old")
    auth = await login(client, user)
    await client.get("/getName", headers=auth)  # warm the cache: the write must replace it
    changed = await client.post("/setName", json={"name": "New"}, headers=auth)
    assert changed.status_code == 200
    assert changed.json() == {"username": user.username, "name": "New"}
    assert (await client.get("/getName", headers=auth)).json()["name"] == "New"


@pytest.mark.parametrize("name", EXACT_NAMES)
async def test_get_name_bodies_are_what_the_documented_model_would_write(
    client: httpx.AsyncClient, make_user: UserFactory, name: str
) -> None:
    """/getName writes its body itself (app/http/private_json.py), from the cache when warm:
    byte for byte what FastAPI would write from its `response_model`, cold and warm."""
    user = await make_user(name=name)
    auth = await login(client, user)
    expected = UserName(username=user.username, name=name).model_dump_json().encode()
    for _ in range(2):  # the row (cold cache), then the cache
        response = await client.get("/getName", headers=auth)
        assert response.content == expected
        assert response.headers["content-type"] == "application/json"
    schema = (await client.get("/openapi.json")).json()
    ok = schema["paths"]["/getName"]["get"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/UserName"}
    assert schema["components"]["schemas"]["UserName"]["required"] == ["username", "name"]


@pytest.mark.parametrize("name", EXACT_NAMES)
async def test_names_with_quotes_sql_emoji_and_rtl_are_stored_exactly(
    client: httpx.AsyncClient, make_user: UserFactory, name: str
) -> None:
    auth = await login(client, await make_user())
    assert (await client.post("/setName", json={"name": name}, headers=auth)).status_code == 200
    assert (await client.get("/getName", headers=auth)).json()["name"] == name


async def test_set_name_trims_surrounding_whitespace(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(client, await make_user())
    response = await client.post("/setName", json={"name": "  Grace  "}, headers=auth)
    assert response.json()["name"] == "Grace"


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "tab\there"},
        {"name": "nul\u0000"},
        {"name": 42},
        {},
        {"nom": "x"},
    ],
)
async def test_invalid_names_are_422(
    client: httpx.AsyncClient, make_user: UserFactory, body: dict[str, object]
) -> None:
    auth = await login(client, await make_user())
    response = await client.post("/setName", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"]


async def test_exactly_100_characters_is_accepted(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(client, await make_user())
    response = await client.post("/setName", json={"name": "é" * 100}, headers=auth)
    assert response.status_code == 200


async def test_authenticated_responses_are_never_cached(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(client, await make_user())
    assert (await client.get("/getName", headers=auth)).headers["cache-control"] == "no-store"
    set_response = await client.post("/setName", json={"name": "N"}, headers=auth)
    assert set_response.headers["cache-control"] == "no-store"
    unauthenticated = await client.get("/getName")
    assert unauthenticated.headers["cache-control"] == "no-store"


async def test_undecodable_body_is_422_not_400(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    auth = await login(client, await make_user())
    response = await client.post(
        "/setName",
        content=b'{"name": "\xff\xfe"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]


async def test_a_stale_profile_read_never_overwrites_a_newer_name(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    """A reader that fetched the row before a rename stores its copy after the rename did: the
    cache keeps the newer name (the version guard)."""
    user = await make_user(name="Old")
    auth = await login(client, user)
    await client.post("/setName", json={"name": "New"}, headers=auth)
    version = await state.pool.fetchval("SELECT version FROM users WHERE id = $1", user.id)
    await state.profiles.store(
        user_id=user.id, version=version - 1, username=user.username, name="Old"
    )
    assert (await client.get("/getName", headers=auth)).json()["name"] == "New"
