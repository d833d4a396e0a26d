"""The production stack runs several api replicas and nginx balances over all of them
(`make docker-smoke`; skipped against the local stack, which has one gunicorn)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.target import COMPOSE, compose_request_ids_by_container

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


@pytest.mark.skipif(not COMPOSE, reason="needs the compose stack (E2E_COMPOSE)")
async def test_every_api_replica_receives_traffic(http: httpx.AsyncClient) -> None:
    ids = {f"e2e-replica-{n}" for n in range(40)}
    for request_id in sorted(ids):  # one by one: round robin alternates the replicas
        response = await http.get("/health/live", headers={"X-Request-ID": request_id})
        assert response.status_code == 200
    await asyncio.sleep(1.0)  # log lines reach `docker compose logs`
    by_container = compose_request_ids_by_container("api")
    served = {name: seen & ids for name, seen in by_container.items() if seen & ids}
    assert len(served) >= 2, f"only {sorted(served)} of {sorted(by_container)} got requests"
    assert set().union(*served.values()) == ids
