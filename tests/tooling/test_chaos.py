"""Faults under load, overload and slow clients: the shortened form of `make chaos`.

The stacks here own a throwaway redis-server and PostgreSQL cluster (tools/chaos/environment.py)
and stop them; the ledger check proves that no acknowledged setName is ever lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import http_client, make_settings, running
from tests.http.test_security import create_and_login
from tests.services import TestDatabase, TestRedis, database_where_renames_run
from tools.chaos.environment import ChaosEnvironment
from tools.chaos.faults import REDIS_FAILOVER
from tools.chaos.report import BUDGET_SECONDS, table
from tools.chaos.scenario import Timing, run_scenario
from tools.chaos.slowloris import slowloris
from tools.chaos.traffic import Traffic

pytestmark = pytest.mark.faults


async def test_faults_under_load_lose_no_write_and_recover_within_budget() -> None:
    rows = await asyncio.to_thread(run_scenario, Timing.short(), Path("run/chaos-test"))
    print(table(rows))
    assert [row.fault for row in rows] == [
        "redis stopped",
        "postgres stopped",
        "worker SIGKILL",
        "all API processes down",
    ]
    # Each fault really happened: clients saw it (or, for one worker, gunicorn replaced it).
    by_fault = {row.fault: row for row in rows}
    assert by_fault["redis stopped"].failed + by_fault["redis stopped"].relogins > 0, table(rows)
    assert by_fault["postgres stopped"].failed > 0, table(rows)
    assert not by_fault["worker SIGKILL"].workers_unchanged, table(rows)
    assert by_fault["all API processes down"].failed > 0, table(rows)
    assert all(row.passed for row in rows), table(rows)
    assert all(row.sent > 50 for row in rows), table(rows)  # traffic really flowed
    assert sum(row.lost_writes for row in rows) == 0


async def test_redis_cluster_primary_failover_answers_503_then_recovers_losing_no_write() -> None:
    timing = Timing.short()
    rows = await asyncio.to_thread(
        run_scenario, timing, Path("run/chaos-cluster-test"), (REDIS_FAILOVER,)
    )
    print(table(rows))
    [row] = rows
    assert row.passed, table(rows)
    assert row.sent > 50, table(rows)
    assert row.lost_writes == 0
    # 503s last as long as the failover and the requests they hit, not beyond.
    assert row.failed > 0, "the killed primary served no request: nothing was tested"


@pytest.fixture(scope="module")
async def quiet_stack() -> AsyncIterator[ChaosEnvironment]:
    env = ChaosEnvironment(Path("run/chaos-slowloris"), users=1)
    await asyncio.to_thread(env.__enter__)
    yield env
    await asyncio.to_thread(env.close)


async def test_slow_clients_do_not_starve_real_ones(quiet_stack: ChaosEnvironment) -> None:
    stack = quiet_stack.stack
    assert stack is not None
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=5.0) as http:
        auth = await Traffic(stack.base_url).login(http, quiet_stack.accounts[0])
    assert auth is not None
    result = await slowloris(stack.host, stack.http_port, auth["Authorization"], connections=300)
    assert result.opened == 300
    assert result.probes > 50
    assert result.probe_failures == 0, result
    assert result.probe_max_seconds < 1.0, result
    # client_header_timeout (10 s) ends every slow connection; none is held forever.
    assert result.cut_by_server == result.opened, result
    assert result.last_cut_after < 13.0, result


async def test_saturated_pool_sheds_with_fast_503_instead_of_queuing(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    settings = make_settings(
        database, redis_db, db_pool_min_size=1, db_pool_max_size=1, db_acquire_timeout=0.2
    )
    async with running(settings) as app, http_client(app) as client:
        auth = await create_and_login(app, client, "shed_user", "shed-password")
        async with app.state.pool.acquire():  # the only connection is busy
            started = time.monotonic()
            response = await client.post("/setName", json={"name": "x"}, headers=auth)
            elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["dependency"] == "postgres"
        assert response.headers["retry-after"] == "1"
        assert 0.15 < elapsed < BUDGET_SECONDS  # waited for the pool, but only briefly
        after = await client.post("/setName", json={"name": "y"}, headers=auth)
        assert after.status_code == 200


async def test_statement_timeout_is_a_503_not_a_500(redis_db: TestRedis) -> None:
    """A database too slow to answer within statement_timeout is 'unavailable', not a bug."""
    async with (
        database_where_renames_run("PERFORM pg_sleep(0.5); RETURN NEW;") as db,
        running(make_settings(db, redis_db, db_statement_timeout_ms=100)) as app,
        http_client(app) as client,
    ):
        auth = await create_and_login(app, client, "slow_user", "slow-password")
        response = await client.post("/setName", json={"name": "x"}, headers=auth)
    assert response.status_code == 503
    assert response.json()["dependency"] == "postgres"
    assert response.headers["retry-after"]
