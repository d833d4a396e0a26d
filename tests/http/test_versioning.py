"""Versions side by side, and retiring one with a single `deprecation=` argument."""

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from app.api.v1 import hello as v1_hello
from app.http.versioning import Deprecation, api_version

RETIREMENT = Deprecation(
    since=datetime(2026, 1, 1, tzinfo=UTC), sunset=datetime(2027, 6, 30, tzinfo=UTC), successor="v2"
)


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_deprecated_version_sends_deprecation_sunset_and_successor_link() -> None:
    app = FastAPI()
    app.include_router(api_version("v1", v1_hello.router, deprecation=RETIREMENT))
    response = await _get(app, "/v1/hello")
    assert response.status_code == 200
    assert response.headers["deprecation"] == "@1767225600"
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert response.headers["link"] == '</v2/hello>; rel="successor-version"'
    assert app.openapi()["paths"]["/v1/hello"]["get"]["deprecated"] is True


async def test_current_versions_send_no_deprecation_headers(client: httpx.AsyncClient) -> None:
    for path in ("/v1/hello", "/v2/hello"):
        response = await client.get(path)
        assert "deprecation" not in response.headers
        assert "sunset" not in response.headers


async def test_a_new_version_is_one_router_and_one_include() -> None:
    app = FastAPI()
    app.include_router(api_version("v3", v1_hello.router))
    assert (await _get(app, "/v3/hello")).status_code == 200
