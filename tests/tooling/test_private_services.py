"""Private PostgreSQL and Redis (tools/devstack/private.py): on a machine where nothing answers
at the configured addresses, `make local` and `make test` bring their own and take them away.

"Nothing answers" is simulated with free loopback ports; the machine's own servers are left
alone."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.services import ADMIN_URL, REDIS_URL, ROOT
from tools.devstack.private import needs_private, start_missing
from tools.devstack.processes import free_port, listening

pytestmark = pytest.mark.faults  # starts and stops servers of its own


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def folder() -> Iterator[Path]:
    # Under the project: a root run hands the folder to the postgres user, which cannot enter
    # pytest's private tmp folders.
    path = ROOT / "run" / f"private-test-{secrets.token_hex(4)}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_services_that_answer_are_used_as_they_are(folder: Path) -> None:
    services = start_missing(ADMIN_URL, REDIS_URL, folder=folder)
    assert (services.database_url, services.redis_url) == (ADMIN_URL, REDIS_URL)
    assert services.started == []
    assert services.note == ""
    assert not folder.exists()


def test_an_address_of_another_machine_is_never_replaced() -> None:
    assert not needs_private("postgresql://app@db.internal.example:5432/app", 5432)
    assert needs_private(f"redis://127.0.0.1:{free_port()}/0", 6379)


async def test_nothing_answering_starts_private_instances_that_serve_and_stop_after(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    redis_url = f"redis://127.0.0.1:{free_port()}/3"
    services = start_missing(database_url, redis_url, folder=folder, remove_folder=True)
    try:
        assert capsys.readouterr().out == services.note + "\n"  # one line
        assert "private PostgreSQL on 127.0.0.1:" in services.note
        # make local keeps the configured ports when they are free: the URLs stay valid.
        assert (services.database_url, services.redis_url) == (database_url, redis_url)
        conn = await asyncpg.connect(services.database_url)
        try:
            assert await conn.fetchval("SELECT current_user") == "postgres"
        finally:
            await conn.close()
        client = aioredis.from_url(services.redis_url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        assert services.postgres is not None
        assert services.redis is not None
        pids = [services.postgres.pid, services.redis.pid]
    finally:
        services.stop()
    assert not [pid for pid in pids if pid is not None and _alive(pid)]
    for url in (database_url, redis_url):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert not listening("127.0.0.1", port)
    assert not folder.exists()


def test_the_test_suite_brings_its_own_services_where_none_answer() -> None:
    """`make test` on a machine without PostgreSQL and Redis: a session of its own, pointed at
    closed ports, passes, says so in its header, and leaves nothing running."""
    db_port, redis_port = free_port(), free_port()
    env = {
        **os.environ,
        "TEST_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{db_port}/postgres",
        "TEST_REDIS_URL": f"redis://127.0.0.1:{redis_port}/15",
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/api/test_hello.py"]
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    header = result.stdout.split("collected", 1)[0]
    assert "no PostgreSQL/Redis answering at the configured address: private PostgreSQL" in header
    private_ports = [int(port) for port in re.findall(r"on 127\.0\.0\.1:(\d+)", header)]
    assert len(private_ports) == 2, header
    sessions = ROOT / "run" / "test-services"
    assert not [p for p in sessions.glob("*") if not Path(f"/proc/{p.name}").exists()]
    for port in private_ports:
        assert not listening("127.0.0.1", port)
