"""A client that leaves while its body is still arriving is a 499 (nginx's "client closed
request"), not a server error: nothing logged at ERROR (so no error report), no 500 counted.
Through a real uvicorn server, whose `receive` reports the disconnect as a real worker's does."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client import REGISTRY

from app.core.settings import Settings
from app.observability.http_metrics import PENDING
from tests.conftest import UserFactory, login
from tests.e2e.raw import address
from tests.http.real_server import served
from tests.http.test_security import captured_logs

HALF_A_LOGIN = b'{"username": "someone", "pass'


def answered(route: str) -> dict[str, float]:
    """http_requests_total of `route` (POST only here) by status, this process's pending counts
    included."""
    PENDING.flush()
    by_status: dict[str, float] = {}
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name == "http_requests_total" and labels.get("route") == route:
                by_status[labels["status"]] = sample.value
    return by_status


def added(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {s: n - before.get(s, 0) for s, n in after.items() if n != before.get(s, 0)}


async def leave_mid_body(base_url: str, path: str, headers: dict[str, str]) -> None:
    """`Content-Length: 100`, part of the body, then the connection closes."""
    host, port = address(base_url)
    _, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{head}Content-Length: 100\r\n\r\n".encode()
        + HALF_A_LOGIN
    )
    await writer.drain()
    await asyncio.sleep(0.3)  # the app is reading the body
    writer.close()
    await writer.wait_closed()


async def counted_once(route: str, before: dict[str, float]) -> dict[str, float]:
    for _ in range(100):
        now = added(before, answered(route))
        if now:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer to POST {route} was counted")


@pytest.mark.parametrize("path", ["/login", "/setName"])
async def test_a_client_leaving_mid_body_is_a_quiet_499(
    settings: Settings, make_user: UserFactory, path: str
) -> None:
    async with served(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            auth = await login(client, await make_user())
        before = answered(path)
        with captured_logs() as logs:
            await leave_mid_body(server.base_url, path, auth if path == "/setName" else {})
            counted = await counted_once(path, before)
    assert counted == {"499": 1}
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    loud = [line for line in lines if line["level"] in ("ERROR", "CRITICAL") or "traceback" in line]
    assert loud == []
