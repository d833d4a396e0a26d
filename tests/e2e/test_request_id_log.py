"""The request id a client gets back from nginx is the one on the app's log line for that
request, whether the client sent it or nginx made it: one id to find a request everywhere."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx
import pytest

from tests.e2e.target import Target

pytestmark = pytest.mark.e2e


async def app_log_line(log: Path, request_id: str, seconds: float = 5.0) -> dict[str, object]:
    """The app's access line (JSON, logger app.access) carrying `request_id`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if request_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "app.access" and entry.get("request_id") == request_id:
                    return dict(entry)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no app log line with request id {request_id}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("sent", [None, "given"], ids=["made-by-nginx", "sent-by-client"])
async def test_the_request_id_nginx_returns_is_on_the_apps_log_line(
    http: httpx.AsyncClient, target: Target, sent: str | None
) -> None:
    stack = target.local()  # reads the app's log
    headers = {"X-Request-ID": f"e2e-{secrets.token_hex(6)}"} if sent else {}
    # A 401 is never cached by nginx: the request reaches the app, which logs it (ACCESS_LOG).
    response = await http.get("/getName", headers=headers)
    assert response.status_code == 401
    returned = response.headers["x-request-id"]
    if sent:
        assert returned == headers["X-Request-ID"]
    else:
        assert len(returned) == 32  # nginx's $request_id
    line = await app_log_line(stack.run_dir / "gunicorn.log", returned)
    assert (line["path"], line["status"]) == ("/getName", 401)
