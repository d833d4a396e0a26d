"""A worker handles at most MAX_REQUESTS_IN_FLIGHT requests at once; beyond it, a JSON 503 with
Retry-After at once. The held request is a real one: a login whose body has not arrived yet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from app.core.settings import Settings
from tests.conftest import http_client, running


async def held_body(release: asyncio.Event) -> AsyncIterator[bytes]:
    yield b'{"username": "held", '
    await release.wait()
    yield b'"password": "held-password"}'


async def with_one_login_in_flight(
    settings: Settings, paths: tuple[str, ...]
) -> tuple[list[httpx.Response], httpx.Response]:
    """Answers to GET `paths` while one POST /login waits for its body, then the login's."""
    release = asyncio.Event()
    async with running(settings) as app, http_client(app) as client:
        login = asyncio.create_task(
            client.post(
                "/login", content=held_body(release), headers={"Content-Type": "application/json"}
            )
        )
        await asyncio.sleep(0.2)  # the login is in the app, reading its body
        answers = [await client.get(path) for path in paths]
        release.set()
        return answers, await login


async def test_a_request_beyond_the_bound_is_shed_with_json_503_and_retry_after(
    settings: Settings,
) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 1})
    (shed,), login = await with_one_login_in_flight(bounded, ("/v1/hello",))
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.headers["cache-control"] == "no-store"
    assert shed.headers["x-request-id"]
    assert shed.json() == {
        "detail": "Too many requests in progress; retry shortly",
        "dependency": "worker",
    }
    assert login.status_code == 401  # the held request itself completes normally


async def test_requests_within_the_bound_are_served(settings: Settings) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 2})
    (hello,), _ = await with_one_login_in_flight(bounded, ("/v1/hello",))
    assert hello.status_code == 200


async def test_health_checks_are_never_shed(settings: Settings) -> None:
    bounded = settings.model_copy(update={"max_requests_in_flight": 1})
    (live,), _ = await with_one_login_in_flight(bounded, ("/health/live",))
    assert live.status_code == 200


async def test_zero_means_no_bound(settings: Settings) -> None:
    unbounded = settings.model_copy(update={"max_requests_in_flight": 0})
    (hello,), _ = await with_one_login_in_flight(unbounded, ("/v1/hello",))
    assert hello.status_code == 200
