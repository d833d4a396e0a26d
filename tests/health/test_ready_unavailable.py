"""/health/ready called directly (a probe, or anyone on the internal network): a 503 says when
to ask again (`Retry-After`) and names each failed check with a short kind, never the exception
class or message of the client library."""

from __future__ import annotations

import re

from pydantic import SecretStr

from app.core.settings import Settings
from tests.conftest import http_client, running
from tools.devstack.processes import free_port


async def test_not_ready_is_503_with_retry_after_and_a_short_kind(settings: Settings) -> None:
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"  # connection refused at once
    down = settings.model_copy(update={"redis_url": SecretStr(nothing_there)})
    async with running(down) as app, http_client(app) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"postgres": "ok", "redis": "error", "schema": "ok"}
    assert not re.search(r"Error|Exception|refused|Connect", response.text)
