"""POST /setName checks the token before it reads the body: a caller without a valid token is
answered at once and never makes the worker wait for a body (app/http/json_body.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.core.settings import Settings
from tests.conftest import http_client, running


async def body_never_finished(stop: asyncio.Event) -> AsyncIterator[bytes]:
    yield b'{"name": '
    await stop.wait()  # the rest comes only when the test ends


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer 00000000-0000-4000-8000-000000000000"],
    ids=["no-token", "unknown-token"],
)
async def test_set_name_checks_the_token_before_it_reads_the_body(
    settings: Settings, authorization: str | None
) -> None:
    stop = asyncio.Event()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with running(settings) as app, http_client(app) as client:
        request = client.post("/setName", content=body_never_finished(stop), headers=headers)
        try:
            answer = await asyncio.wait_for(request, 2)
        finally:
            stop.set()
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
