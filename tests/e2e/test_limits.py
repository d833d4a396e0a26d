"""Login limits: nginx's rate limit (JSON 429) and the app's failure throttle behind it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.conftest import AccountFactory

pytestmark = pytest.mark.e2e

LOGIN_MAX_FAILURES = 5  # the app's default (Settings.login_max_failures)


NGINX_429 = {"detail": "Too many requests; retry later"}


async def test_login_flood_is_limited_by_nginx_with_json_429(http: httpx.AsyncClient) -> None:
    # An empty object is refused by the app (422) without hashing: the flood costs no CPU there.
    attempts = [http.post("/login", json={}) for _ in range(40)]
    responses = await asyncio.gather(*attempts)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {422, 429}
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) >= 40 - 11, statuses  # 5/s with a burst of 10
    for response in limited:  # every one says when to come back, as JSON
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/json"
        assert response.json() == NGINX_429
        assert response.headers["x-content-type-options"] == "nosniff"
    # Other paths are not limited.
    assert (await http.get("/v1/hello")).status_code == 200
    await asyncio.sleep(2.5)  # the bucket (5/s, burst 10) drains: later logins are not refused


async def test_forged_forwarded_for_does_not_dodge_the_apps_login_throttle(
    http: httpx.AsyncClient, new_account: AccountFactory
) -> None:
    """The app counts failed logins per (username, client address); the address must be the
    one nginx saw, whatever X-Forwarded-For the client sends."""
    account = await new_account()
    statuses = []
    for attempt in range(LOGIN_MAX_FAILURES + 1):
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        body = {"username": account.username, "password": "wrong-password"}
        for _ in range(50):  # wait out nginx's own rate limit (its 429s have their own body)
            response = await http.post("/login", json=body, headers=forged)
            if response.status_code != 429 or response.json() != NGINX_429:
                break
            await asyncio.sleep(0.2)
        statuses.append(response.status_code)
    assert statuses == [401] * LOGIN_MAX_FAILURES + [429], statuses
    # The app's own Retry-After passes alone: nginx adds its 1 s only to its own refusals.
    assert response.headers.get_list("retry-after") != ["1"]
    assert len(response.headers.get_list("retry-after")) == 1
