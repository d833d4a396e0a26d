"""The public contract, driven through the real nginx in front of the real gunicorn."""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import on_every_backend
from tests.e2e.conftest import AccountFactory, login
from tests.e2e.target import Target

pytestmark = [pytest.mark.e2e, on_every_backend]

CACHE_MAX_AGE = re.compile(r"max-age=(\d+)")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def logged_within(log: Path, request_id: str, seconds: float = 5.0) -> bool:
    """nginx flushes its buffered access log once a second: poll instead of reading once."""
    needle = f'"request_id":"{request_id}"'
    deadline = asyncio.get_running_loop().time() + seconds
    while needle not in log.read_text().replace(" ", ""):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_both_hello_versions_answer(http: httpx.AsyncClient) -> None:
    v1 = await http.get("/v1/hello")
    v2 = await http.get("/v2/hello")
    assert v1.status_code == v2.status_code == 200
    assert v1.json()["version"] == "v1"
    assert v2.json()["meta"]["api_version"] == "v2"
    assert v1.headers["server"] == "nginx"  # server_tokens off: no version


async def test_login_header_set_get_logout(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    headers = await login(http, await new_account())
    assert headers["Authorization"].startswith("Bearer ")
    set_name = await http.post("/setName", json={"name": "Ada Lovelace"}, headers=headers)
    assert set_name.status_code == 200, set_name.text
    got = await http.get("/getName", headers=headers)
    assert got.json()["name"] == "Ada Lovelace"
    assert got.headers["cache-control"] == "no-store"
    assert (await http.post("/logout", headers=headers)).status_code == 204
    assert (await http.get("/getName", headers=headers)).status_code == 401


async def test_static_png_is_served_by_nginx_with_cache_headers(http: httpx.AsyncClient) -> None:
    response = await http.get("/static/assets/img/happy.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert "max-age=" in response.headers["cache-control"]
    assert "etag" in response.headers
    missing = await http.get("/static/nope.png")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}


async def test_two_megabyte_body_is_refused_with_json_413(http: httpx.AsyncClient) -> None:
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await http.post(
        "/setName", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_request_id_is_kept_or_made_and_logged(
    http: httpx.AsyncClient, target: Target
) -> None:
    given = await http.get("/health/live", headers={"X-Request-ID": "e2e-trace-42"})
    assert given.headers["x-request-id"] == "e2e-trace-42"
    made = await http.get("/health/live")
    assert len(made.headers["x-request-id"]) == 32
    # A malformed id is replaced, not reflected (header injection, log forging).
    bad = await http.get("/health/live", headers={"X-Request-ID": "no spaces;allowed"})
    assert bad.headers["x-request-id"] != "no spaces;allowed"
    if target.stack is not None:
        for name in ("nginx", "gunicorn"):
            assert await logged_within(target.stack.run_dir / f"{name}.log", "e2e-trace-42"), name


async def test_security_headers_on_success_and_on_nginx_errors(http: httpx.AsyncClient) -> None:
    for path in (
        "/v1/hello",
        "/static/nope.png",
        "/auth/verify",  # part:gateway
    ):
        response = await http.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)


# >>> part:gateway
async def test_gateway_verify_endpoint_is_not_reachable_from_outside(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/auth/verify", headers={"X-Gateway-Secret": "guess"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


# <<< part:gateway


async def test_public_hello_is_micro_cached_but_authorized_requests_are_not(
    http: httpx.AsyncClient,
) -> None:
    url = f"/v2/hello?e2e-cache-{secrets.token_hex(4)}"
    first = await http.get(url)
    second = await http.get(url)
    assert first.headers["x-cache-status"] in {"MISS", "EXPIRED"}
    assert second.headers["x-cache-status"] == "HIT"
    assert second.json() == first.json()
    authorized = await http.get(url, headers={"Authorization": "Bearer x"})
    assert authorized.headers["x-cache-status"] == "BYPASS"


async def test_micro_cached_answer_is_refreshed_once_it_expires(http: httpx.AsyncClient) -> None:
    # nginx keeps cache files open (open_file_cache): a refreshed entry must still be read
    # from its new file, or the expired copy would be served (STALE) for good.
    url = f"/v1/hello?e2e-refresh-{secrets.token_hex(4)}"
    assert (await http.get(url)).headers["x-cache-status"] == "MISS"
    assert (await http.get(url)).headers["x-cache-status"] == "HIT"
    max_age = CACHE_MAX_AGE.search((await http.get(url)).headers["cache-control"])
    assert max_age is not None
    await asyncio.sleep(int(max_age[1]) + 1)
    statuses = []
    for _ in range(20):  # the expired entry is refreshed in the background (use_stale updating)
        statuses.append((await http.get(url)).headers["x-cache-status"])
        if statuses[-1] == "HIT":
            break
        await asyncio.sleep(0.1)
    assert statuses[0] in {"EXPIRED", "STALE", "UPDATING"}
    assert statuses[-1] == "HIT", statuses


async def test_json_is_gzipped(http: httpx.AsyncClient, target: Target) -> None:
    if target.stack is None:
        pytest.skip("the large JSON document (/openapi.json) is disabled in production")
    response = await http.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"].lower() == "accept-encoding"
    raw = await http.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert response.json() == raw.json()


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/static/assets/img/happy.png", {}, 405),
        ("GET", "/v1/hello", {"X-Oversized": "a" * 20_000}, 431),
    ],
    ids=["method-on-static-file", "oversized-headers"],
)
async def test_errors_made_by_nginx_are_json(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await http.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]
