"""nginx's own limits answer in JSON: the login rate limit (429)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.e2e


async def test_login_flood_is_limited_by_nginx_with_json_429(http: httpx.AsyncClient) -> None:
    # An empty object is refused by the app (422) without hashing: the flood costs no CPU there.
    attempts = [http.post("/login", json={}) for _ in range(40)]
    responses = await asyncio.gather(*attempts)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {422, 429}
    limited = [r for r in responses if r.status_code == 429]
    assert limited, statuses
    assert limited[0].json()["detail"]
    assert limited[0].headers["x-content-type-options"] == "nosniff"
    # Other paths are not limited.
    assert (await http.get("/v1/hello")).status_code == 200
    await asyncio.sleep(2.5)  # the bucket (5/s, burst 10) drains: later logins are not refused
