"""GET /v1/users/search: similar names first, bounded limits, token required."""

import secrets

import httpx
import pytest

from tests.conftest import UserFactory, login


async def test_search_finds_similar_names_best_match_first(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    tag = secrets.token_hex(3)
    exact = await make_user(name=f"Quixote{tag} Sancho")
    close = await make_user(name=f"Quixote{tag} Sanchez Panza")
    await make_user(name="Unrelated Person")
    auth = await login(client, exact)
    response = await client.get(
        "/v1/users/search", params={"q": f"Quixote{tag} Sancho"}, headers=auth
    )
    assert response.status_code == 200
    usernames = [match["username"] for match in response.json()]
    assert usernames[:2] == [exact.username, close.username]
    scores = [match["score"] for match in response.json()]
    assert scores == sorted(scores, reverse=True)


async def test_search_matches_usernames_too(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(username=f"zebrafish_{secrets.token_hex(3)}")
    response = await client.get(
        "/v1/users/search", params={"q": user.username}, headers=await login(client, user)
    )
    assert response.json()[0]["username"] == user.username


async def test_search_respects_limit(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    tag = secrets.token_hex(3)
    users = [await make_user(name=f"Limitname{tag} {i}") for i in range(4)]
    response = await client.get(
        "/v1/users/search",
        params={"q": f"Limitname{tag}", "limit": 2},
        headers=await login(client, users[0]),
    )
    assert len(response.json()) == 2


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 101},
        {"q": "ok", "limit": 0},
        {"q": "ok", "limit": 51},
        {"q": "ok", "limit": "many"},
        {"q": "nul\u0000"},
    ],
)
async def test_bad_search_parameters_are_422(
    client: httpx.AsyncClient, make_user: UserFactory, params: dict[str, str | int]
) -> None:
    response = await client.get(
        "/v1/users/search", params=params, headers=await login(client, await make_user())
    )
    assert response.status_code == 422


async def test_search_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/users/search", params={"q": "anyone"})
    assert response.status_code == 401
