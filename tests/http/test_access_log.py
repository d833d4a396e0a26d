"""What the app's access log writes: every request when ACCESS_LOG is on; otherwise only
server errors and slow requests (nginx logs every request with its id and upstream time)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.core.settings import Settings
from app.http.request_context import RequestContextMiddleware


def answering(status: int, *, delay_s: float = 0.0) -> RequestContextMiddleware:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(delay_s)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return inner  # type: ignore[return-value]


async def access_lines(
    caplog: pytest.LogCaptureFixture,
    status: int,
    *,
    access_log: bool,
    slow_ms: float = 500.0,
    delay_s: float = 0.0,
) -> list[logging.LogRecord]:
    app = RequestContextMiddleware(
        answering(status, delay_s=delay_s), access_log=access_log, slow_ms=slow_ms
    )
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.DEBUG, logger="app.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/v1/hello")).status_code == status
    return [r for r in caplog.records if r.name == "app.access"]


def test_access_log_is_off_by_default() -> None:
    assert Settings.model_validate({}).access_log is False


async def test_a_fast_successful_request_gets_no_line_by_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await access_lines(caplog, 200, access_log=False) == []


async def test_every_request_gets_a_line_with_access_log_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (line,) = await access_lines(caplog, 200, access_log=True)
    assert line.levelno == logging.INFO
    assert (line.status, line.path) == (200, "/v1/hello")  # type: ignore[attr-defined]


async def test_server_errors_are_logged_with_access_log_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (line,) = await access_lines(caplog, 503, access_log=False)
    assert line.levelno == logging.WARNING
    assert line.status == 503  # type: ignore[attr-defined]


async def test_slow_requests_are_logged_with_access_log_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (line,) = await access_lines(caplog, 200, access_log=False, slow_ms=1, delay_s=0.02)
    assert line.levelno == logging.WARNING
    assert line.duration_ms >= 1  # type: ignore[attr-defined]


async def test_client_errors_are_not_logged_with_access_log_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await access_lines(caplog, 404, access_log=False) == []
