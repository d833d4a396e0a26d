"""What a client of a service behind the gateway gets when the app cannot check the token
(Redis down): the app answers nginx's `auth_request` with its 503 + `Retry-After`;
`auth_request` treats any answer other than 2xx, 401 and 403 as an error of its own (a 500),
which the gateway location maps back to the 503 it is (`error_page 500 =503` in nginx.conf,
with the server's other error pages repeated there), `Retry-After` included."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import CLIENT_TIMEOUT, start_stack
from tests.e2e.target import BASE_URL
from tools.devstack.processes import free_port
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

UNKNOWN_TOKEN = {"Authorization": f"Bearer {uuid.uuid4()}"}  # checked in Redis, so a 503


@pytest.fixture(scope="module")
def redis_down_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """A stack whose REDIS_URL points at a port nothing listens on."""
    if BASE_URL:
        pytest.skip("needs a local stack of its own (E2E_BASE_URL points at a deployed one)")
    stack = start_stack(
        request,
        "redis-down",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        OUTBOX_RELAY_ENABLED="false",
    )
    try:
        yield stack
    finally:
        stack.stop()


async def test_the_app_answers_the_gateway_check_with_503_and_retry_after(
    redis_down_stack: LocalStack,
) -> None:
    """Asked as nginx asks it (the shared secret, on the API port)."""
    secret = redis_down_stack.env["GATEWAY_SECRET"]
    async with httpx.AsyncClient(base_url=redis_down_stack.api_url, timeout=CLIENT_TIMEOUT) as c:
        response = await c.get(
            "/auth/verify", headers={**UNKNOWN_TOKEN, "X-Gateway-Secret": secret}
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["dependency"] == "redis"


async def test_behind_auth_request_the_client_gets_503_with_retry_after(
    redis_down_stack: LocalStack,
) -> None:
    async with httpx.AsyncClient(base_url=redis_down_stack.base_url, timeout=CLIENT_TIMEOUT) as c:
        response = await c.get("/services/echo/whoami", headers=UNKNOWN_TOKEN)
    assert response.status_code == 503
    assert response.json() == {"detail": "Service unavailable"}
    assert response.headers["retry-after"] == "1"
