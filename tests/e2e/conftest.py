"""Fixtures of the end-to-end tests: the real nginx + gunicorn (+ echo) on free loopback ports
against the session's scratch database and Redis DB index, and httpx clients through nginx."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import UserFactory
from tests.e2e.target import BASE_URL, Target, compose_create_user
from tests.services import TestDatabase, TestRedis
from tools.devstack.nginx import ROOT
from tools.devstack.processes import free_port
from tools.devstack.stack import LocalStack

# Above nginx's proxy_read_timeout (10 s): the 504 test waits for nginx, not for httpx.
CLIENT_TIMEOUT = 20.0


def stack_env(database: TestDatabase, redis_db: TestRedis, **extra: str) -> dict[str, str]:
    behind_pgbouncer = database.direct_url is not None
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database.app_url,
        "DB_PGBOUNCER": str(behind_pgbouncer).lower(),
        "DATABASE_DIRECT_URL": database.direct_url or "",
        "REDIS_URL": redis_db.url,
        "REDIS_CLUSTER": str(redis_db.cluster).lower(),
        "SEED_DEMO_USER": "false",
        "ACCESS_LOG": "true",
        "LOG_LEVEL": "INFO",
        # >>> part:events
        # The stack's outbox relay publishes to a stream of its own: concurrent sessions (and
        # the event tests) share the Redis DB index.
        "EVENTS_STREAM": f"events:e2e:{secrets.token_hex(4)}",
        # <<< part:events
        # A stack's mail senders would take the queued mail of every app on the database (the
        # in-process one of tests/accounts/ too) to an SMTP server nobody reads: off, except in
        # tests/e2e/test_accounts.py (a database of its own, and its own listener).
        "MAIL_SENDER_ENABLED": "false",
        **extra,
    }


RUN_ROOT = Path("run/e2e")


def _run_dir(name: str) -> Path:
    """run/e2e/<name>-<pid>: test sessions running at the same time (one working tree, several
    people) must not share config, logs or cache. Folders of finished sessions are removed; the
    logs of this one stay until the next session, for a failed test."""
    for old in (ROOT / RUN_ROOT).glob("*-*"):
        pid = old.name.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    return RUN_ROOT / f"{name}-{os.getpid()}"


def start_stack(request: pytest.FixtureRequest, name: str, **extra: str) -> LocalStack:
    """A LocalStack on free ports, with logs in its own run folder."""
    database: TestDatabase = request.getfixturevalue("database")
    redis_db: TestRedis = request.getfixturevalue("redis_db")
    stack = LocalStack(
        env=stack_env(database, redis_db, **extra),
        http_port=free_port(),
        api_port=free_port(),
        echo_port=free_port(),
        workers=2,
        run_dir=_run_dir(name),
    )
    stack.start()
    return stack


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, backend: str | None) -> Iterator[Target]:
    """The stack on the session's backend (see tests/conftest.py: on_every_backend)."""
    if BASE_URL:
        if backend is not None:
            pytest.skip("a deployed stack (E2E_BASE_URL) brings its own Redis and PostgreSQL")
        yield Target(base_url=BASE_URL.rstrip("/"))
        return
    stack = start_stack(request, "main" if backend is None else f"main-{backend}")
    try:
        yield Target(base_url=stack.base_url, stack=stack)
    finally:
        stack.stop()


@pytest.fixture
async def http(target: Target) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=target.base_url, timeout=CLIENT_TIMEOUT) as client:
        yield client


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    id: int | None = None  # known when created in the scratch database


AccountFactory = Callable[[], Awaitable[Account]]


@pytest.fixture
def new_account(request: pytest.FixtureRequest, target: Target) -> AccountFactory:
    """Creates a fresh user: in the scratch database, or inside the compose stack."""
    if target.stack is not None:
        # The in-process app's pool writes into the same scratch database the stack uses.
        make_user: UserFactory = request.getfixturevalue("make_user")

        async def in_database() -> Account:
            user = await make_user(username=f"e2e_{secrets.token_hex(5)}")
            return Account(user.username, user.password, user.id)

        return in_database

    async def in_compose() -> Account:
        account = Account(f"e2e_{secrets.token_hex(5)}", secrets.token_urlsafe(12))
        await asyncio.to_thread(compose_create_user, account.username, account.password)
        return account

    return in_compose


async def login(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """Log in through nginx; waits out nginx's login rate limit (other tests may have used it)."""
    for _ in range(50):
        response = await client.post(
            "/login", json={"username": account.username, "password": account.password}
        )
        if response.status_code != 429:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    return {"Authorization": response.headers["Authorization"]}
