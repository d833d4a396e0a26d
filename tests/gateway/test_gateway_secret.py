"""GET /auth/verify answers only nginx: the shared secret is checked before any session work."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import AppState, UserFactory, login


@pytest.mark.parametrize("secret", [None, "", "guess", "dev-gateway-secret-but-longer"])
async def test_verify_without_the_gateway_secret_is_403_even_with_a_valid_token(
    client: httpx.AsyncClient, make_user: UserFactory, secret: str | None
) -> None:
    auth = await login(client, await make_user())
    headers = {**auth, **({"X-Gateway-Secret": secret} if secret is not None else {})}
    response = await client.get("/auth/verify", headers=headers)
    assert response.status_code == 403
    assert "x-user-id" not in response.headers


async def test_verify_with_the_gateway_secret_names_the_user(
    client: httpx.AsyncClient, make_user: UserFactory, state: AppState
) -> None:
    user = await make_user()
    auth = await login(client, user)
    secret = state.settings.gateway_secret.get_secret_value()
    response = await client.get("/auth/verify", headers={**auth, "X-Gateway-Secret": secret})
    assert response.status_code == 204
    assert response.headers["x-user-id"] == str(user.id)
