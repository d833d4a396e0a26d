"""What the gateway passes on to the service behind it (issue 23, finding 1): the identity and
the forwarding headers nginx sets, a normalised URI, a checked traceparent, and nothing of the
caller's credentials or forwarding claims. The echo service reports every header it received."""

from __future__ import annotations

import ipaddress
import secrets

import httpx
import pytest

from tests.e2e.conftest import AccountFactory, login
from tests.e2e.raw import send_raw
from tests.e2e.target import Target

pytestmark = pytest.mark.e2e

ECHO = "/services/echo/hi"

# Headers the service may receive: nginx's own, and content negotiation the client chose.
ALLOWED = {
    "host",
    "connection",
    "x-request-id",
    "x-real-ip",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-user-id",
    "x-username",
    "x-user-role",
    "traceparent",
    "accept",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "content-type",
    "content-length",
}

# Credentials and forwarding claims a client may send; none may reach the service as sent.
CLAIMS = {
    "Cookie": "session=caller-cookie-secret",
    "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
    "X-Api-Key": "caller-api-key-secret",
    "X-Gateway-Secret": "caller-gateway-secret",
    "Forwarded": "for=203.0.113.9;host=evil.example;proto=https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/admin",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Real-IP": "203.0.113.9",
    "X-Original-URL": "/admin",
}


def received(body: object) -> dict[str, list[str]]:
    assert isinstance(body, dict)
    seen: dict[str, list[str]] = {}
    for name, value in body["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


async def test_the_service_gets_no_credentials_or_forwarding_claims_of_the_caller(
    target: Target, http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    account = await new_account()
    auth = await login(http, account)
    token = auth["Authorization"].split(" ", 1)[1]
    headers = {**auth, **CLAIMS, "Accept": "application/json", "X-Request-ID": "fwd-1"}
    response = await http.get(ECHO, headers=headers)
    assert response.status_code == 200, response.text
    seen = received(response.json())

    assert set(seen) <= ALLOWED, sorted(set(seen) - ALLOWED)
    values = [value for values in seen.values() for value in values]
    assert not [v for v in values if token in v], "the caller's token reached the service"
    assert not [v for v in values if v in CLAIMS.values()], "a client's claim reached the service"
    # nginx's own values, once each: the address it saw (127.0.0.1 on the host; a compose
    # stack sees its network's gateway).
    (client,) = seen["x-real-ip"]
    ipaddress.ip_address(client)
    if target.stack is not None:
        assert client == "127.0.0.1"
    assert seen["x-forwarded-for"] == [client]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-request-id"] == ["fwd-1"]
    assert seen["x-username"] == [account.username]
    assert len(seen["x-user-id"]) == 1
    assert seen["x-user-id"][0].isdigit()
    assert seen["accept"] == ["application/json"]  # harmless headers still pass


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("/services/echo/a/./b/../c//d%41?q=1", "/services/echo/a/c/dA?q=1"),
        ("/services/echo/x/%2e%2e/y", "/services/echo/y"),
        ("/services/echo/x/..%2Fy", "/services/echo/y"),
    ],
    ids=["dot-segments-and-escapes", "encoded-dot-dot", "encoded-slash"],
)
async def test_the_service_gets_the_normalised_uri_not_the_raw_one(
    target: Target, http: httpx.AsyncClient, new_account: AccountFactory, sent: str, expected: str
) -> None:
    auth = await login(http, await new_account())
    request = (
        f"GET {sent} HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: {auth['Authorization']}\r\nConnection: close\r\n\r\n"
    )
    answer = await send_raw(target.base_url, request.encode())
    assert answer.status == 200, answer.body
    body = answer.json()
    assert isinstance(body, dict)
    assert body["path"] == expected


VALID = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@pytest.mark.parametrize(
    "traceparent",
    [
        "00-" + "a" * 6000,
        VALID + "0",  # 56 characters
        VALID.upper(),
        "ff" + VALID[2:],  # version ff is invalid
        f"00-{'0' * 32}-{secrets.token_hex(8)}-01",
        f"00-{secrets.token_hex(16)}-{'0' * 16}-01",
        VALID.replace("-", "_"),
    ],
    ids=["6-kb", "56-chars", "upper-case", "version-ff", "zero-trace", "zero-parent", "no-dashes"],
)
async def test_an_invalid_traceparent_is_not_passed_on(
    http: httpx.AsyncClient, new_account: AccountFactory, traceparent: str
) -> None:
    auth = await login(http, await new_account())
    response = await http.get(ECHO, headers={**auth, "traceparent": traceparent})
    assert response.status_code == 200, response.text
    assert "traceparent" not in received(response.json())


async def test_a_valid_traceparent_is_passed_on_as_sent(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    """Tracing is off in this stack: the client's trace context passes unchanged."""
    auth = await login(http, await new_account())
    response = await http.get(ECHO, headers={**auth, "traceparent": VALID})
    assert received(response.json())["traceparent"] == [VALID]
