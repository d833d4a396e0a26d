"""Least privilege in the running stack: every PostgreSQL session of the app (request pool and
outbox relay, in every worker) is the app role's; only migrations and test set-up use the
owner."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.conftest import on_every_backend
from tests.e2e.target import Target, compose_exec, compose_psql
from tests.services import TestDatabase
from tools.devstack.schema import APP_ROLE

pytestmark = pytest.mark.e2e

# Client sessions of this database opened by the app: its pool and the relay name themselves
# after the setting db_application_name (default `fastapi-template`; the relay adds a suffix).
SESSION_ROLES_SQL = (
    "SELECT usename, count(*) FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND datname = current_database()"
    " AND application_name LIKE 'fastapi-template%'"
    " GROUP BY usename ORDER BY usename"
)


async def _session_roles(target: Target, request: pytest.FixtureRequest) -> dict[str, int]:
    if target.stack is None:
        rows = [
            line.split(",")
            for line in (await asyncio.to_thread(compose_psql, SESSION_ROLES_SQL)).split()
        ]
        return {user: int(count) for user, count in rows}
    database: TestDatabase = request.getfixturevalue("database")
    conn = await asyncpg.connect(database.url)
    try:
        return {row[0]: row[1] for row in await conn.fetch(SESSION_ROLES_SQL)}
    finally:
        await conn.close()


@on_every_backend  # through PgBouncer too: it logs in upstream as the client's role
async def test_every_database_session_of_the_running_app_is_app_user(
    http: httpx.AsyncClient, target: Target, request: pytest.FixtureRequest
) -> None:
    for _ in range(8):  # reach several workers, so each has opened its pool
        assert (await http.get("/health/ready")).status_code == 200
    roles = await _session_roles(target, request)
    assert set(roles) == {"app_user"}, roles


def test_the_api_container_holds_no_owner_credentials() -> None:
    lines = compose_exec("api", "env").splitlines()
    environment = dict(line.split("=", 1) for line in lines if "=" in line)
    assert environment.get("POSTGRES_PASSWORD", "") == ""
    assert environment.get("DATABASE_OWNER_URL", "") == ""
    assert environment["DATABASE_URL"].startswith(f"postgresql://{APP_ROLE}:")
