"""POST /login: the token contract, the identical 401s, throttling and input validation."""

import uuid

import httpx
import pytest

from app.auth.exceptions import HashingAbandoned
from app.auth.passwords import PasswordHasherService
from tests.conftest import AppState, UserFactory
from utils.redis.redis import RedisClient


async def test_login_returns_bearer_uuid4_header_and_token_body(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    response = await client.post(
        "/login", json={"username": user.username, "password": user.password}
    )
    assert response.status_code == 200
    scheme, token = response.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert uuid.UUID(token).version == 4
    assert response.json() == {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": state.settings.session_ttl_seconds,
    }
    assert response.headers["cache-control"] == "no-store"


async def test_login_stores_session_with_user_id_and_lifetime(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    response = await client.post(
        "/login", json={"username": user.username, "password": user.password}
    )
    token = response.json()["access_token"]
    redis: RedisClient = state.redis
    assert await redis.get(f"session:{token}") == str(user.id)
    ttl = await redis.ttl(f"session:{token}")
    assert 0 < ttl <= state.settings.session_ttl_seconds


async def test_each_login_makes_a_fresh_token(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    body = {"username": user.username, "password": user.password}
    first = (await client.post("/login", json=body)).json()["access_token"]
    second = (await client.post("/login", json=body)).json()["access_token"]
    assert first != second


async def test_username_is_case_insensitive(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(username="CaseUser" + uuid.uuid4().hex[:6])
    response = await client.post(
        "/login", json={"username": user.username.lower(), "password": user.password}
    )
    assert response.status_code == 200


async def test_username_in_upper_case_logs_in_to_a_lower_case_account(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(username="lowercase" + uuid.uuid4().hex[:6])
    response = await client.post(
        "/login", json={"username": user.username.upper(), "password": user.password}
    )
    assert response.status_code == 200


async def test_login_accepts_form_fields(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    response = await client.post(
        "/login", data={"username": user.username, "password": user.password}
    )
    assert response.status_code == 200
    assert response.headers["Authorization"].startswith("Bearer ")


async def test_unknown_user_and_wrong_password_get_identical_401(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    wrong = await client.post("/login", json={"username": user.username, "password": "nope"})
    unknown = await client.post(
        "/login", json={"username": "ghost-" + uuid.uuid4().hex, "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    assert "authorization" not in wrong.headers


async def test_repeated_failures_are_throttled_with_retry_after(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    bad = {"username": user.username, "password": "wrong"}
    for _ in range(state.settings.login_max_failures):
        assert (await client.post("/login", json=bad)).status_code == 401
    throttled = await client.post(
        "/login", json={"username": user.username, "password": user.password}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert throttled.json()["detail"]


async def test_successful_login_resets_the_failure_count(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    bad = {"username": user.username, "password": "wrong"}
    good = {"username": user.username, "password": user.password}
    for _ in range(state.settings.login_max_failures - 1):
        await client.post("/login", json=bad)
    assert (await client.post("/login", json=good)).status_code == 200
    for _ in range(state.settings.login_max_failures - 1):
        await client.post("/login", json=bad)
    assert (await client.post("/login", json=good)).status_code == 200


async def test_missing_field_is_422_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json={"username": "someone"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["password"]


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_non_object_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json=["username", "password"])
    assert response.status_code == 422


async def test_over_long_fields_are_422_without_echoing_input(client: httpx.AsyncClient) -> None:
    secret = "p" * 5000
    response = await client.post("/login", json={"username": "u" * 65, "password": secret})
    assert response.status_code == 422
    assert secret not in response.text
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {("username",), ("password",)}


async def test_control_characters_in_username_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json={"username": "a\u0000b", "password": "x"})
    assert response.status_code == 422


async def test_a_verification_for_a_client_that_left_is_not_computed(
    hasher: PasswordHasherService,
) -> None:
    calls = 0

    async def gone() -> bool:
        nonlocal calls
        calls += 1
        return True

    with pytest.raises(HashingAbandoned):
        await hasher.verify(hasher.hash_sync("pw-123456789"), "pw-123456789", client_gone=gone)
    assert calls == 1


async def test_a_verification_for_a_present_client_runs(hasher: PasswordHasherService) -> None:
    async def present() -> bool:
        return False

    stored = hasher.hash_sync("pw-123456789")
    assert await hasher.verify(stored, "pw-123456789", client_gone=present)
