"""Migrations (dbmate, db/migrations): init.sql and the migrations give the same schema, a
database of the pre-migration era is adopted, the worked example of docs/migrations.md applies
and rolls back, and a table without its GRANT fails a request clearly."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from app.health.migration_check import newest_migration
from app.wiring.dependencies import PoolDep
from main import create_app
from tests.conftest import RunningApp, http_client, make_settings, state_of
from tests.services import ADMIN_URL, ROOT, TestDatabase, TestRedis, as_app_user, with_database
from tools.devstack.schema import MIGRATIONS_DIR, dbmate, migrate, set_app_password

EXAMPLE_DIR = ROOT / "docs" / "migrations-example"
BASELINE = next(MIGRATIONS_DIR.glob("*_baseline.sql"))


async def _create_empty(name: str) -> str:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(ADMIN_URL, name)


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def scratch_url() -> AsyncIterator[str]:
    """An empty database of its own (dropped afterwards)."""
    name = f"test_mig_{secrets.token_hex(4)}"
    url = await _create_empty(name)
    yield url
    await _drop(name)


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_dump(url: str) -> str:
    """`pg_dump --schema-only` of the server's own major version, without dbmate's table and
    without what differs between any two dumps (comments, settings, restrict keys)."""
    conn = await asyncpg.connect(url)
    try:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    binary = str(versioned) if versioned.exists() else "pg_dump"
    result = await asyncio.to_thread(
        subprocess.run,
        [binary, "--schema-only", "--exclude-table=schema_migrations", "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.strip()
        and not line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\"))
    ]
    return "\n".join(lines)


def _baseline_up_sql() -> str:
    """The baseline's up section: statement for statement the init.sql every database before
    migrations was created with (by the postgres container, `make local` or the tests)."""
    text = BASELINE.read_text()
    return text.split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]


async def test_init_sql_and_the_migrations_build_the_same_schema(scratch_url: str) -> None:
    from_init_name = f"test_init_{secrets.token_hex(4)}"
    from_init_url = await _create_empty(from_init_name)
    try:
        await _execute(from_init_url, (ROOT / "init.sql").read_text())
        await asyncio.to_thread(migrate, scratch_url)
        assert await _pg_dump(from_init_url) == await _pg_dump(scratch_url)
    finally:
        await _drop(from_init_name)


async def test_a_database_created_before_migrations_is_adopted_without_changes(
    scratch_url: str,
) -> None:
    await _execute(scratch_url, _baseline_up_sql())
    conn = await asyncpg.connect(scratch_url)
    try:
        await conn.execute(
            "INSERT INTO users (username, password_hash, name) VALUES ('kept', '$argon2id$x', 'K')"
        )
        objects = "SELECT relname, oid FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        before = {row["relname"]: row["oid"] for row in await conn.fetch(objects)}
        await asyncio.to_thread(migrate, scratch_url)
        after = {row["relname"]: row["oid"] for row in await conn.fetch(objects)}
        applied = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        kept = await conn.fetchval("SELECT name FROM users WHERE username = 'kept'")
    finally:
        await conn.close()
    assert BASELINE.name.split("_", 1)[0] in applied
    assert kept == "K"
    # Same objects, same oids: nothing was dropped or rebuilt (later migrations only add).
    assert {name: after.get(name) for name in before} == before


def _with_example(tmp_path: Path) -> Path:
    """db/migrations plus the worked example, as a team's next release would have them."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    for path in EXAMPLE_DIR.glob("*.sql"):
        shutil.copy(path, folder / path.name)
    return folder


async def test_the_worked_example_applies_with_a_batched_backfill_and_rolls_back(
    scratch_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, scratch_url)
    before = await _pg_dump(scratch_url)
    conn = await asyncpg.connect(scratch_url)
    try:
        rows = [(f"ex_{i}", "$argon2id$x", f"Name {i}") for i in range(2_500)]  # three batches
        await conn.copy_records_to_table(
            "users", records=rows, columns=["username", "password_hash", "name"]
        )
        await asyncio.to_thread(migrate, scratch_url, migrations_dir=_with_example(tmp_path))
        differing = "SELECT count(*) FROM users WHERE display_name IS DISTINCT FROM name"
        assert await conn.fetchval(differing) == 0
        index_valid = await conn.fetchval(
            "SELECT indisvalid FROM pg_index"
            " WHERE indexrelid = 'users_display_name_trgm_idx'::regclass"
        )
        assert index_valid is True
    finally:
        await conn.close()
    app = await asyncpg.connect(as_app_user(scratch_url))  # the running release writes `name`
    try:
        await app.execute("UPDATE users SET name = 'Renamed' WHERE username = 'ex_7'")
        assert await app.fetchval("SELECT display_name FROM users WHERE username = 'ex_7'") == (
            "Renamed"
        )
    finally:
        await app.close()
    with_example = tmp_path / "migrations"
    for _ in EXAMPLE_DIR.glob("*.sql"):
        await asyncio.to_thread(dbmate, scratch_url, "rollback", migrations_dir=with_example)
    assert await _pg_dump(scratch_url) == before


NOTES_MIGRATION = """-- migrate:up
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);
{grant}
-- migrate:down
DROP TABLE notes;
"""


def _notes_router() -> APIRouter:
    """A feature's handler over the new table (SQL next to it, as in the app)."""
    router = APIRouter()

    @router.get("/scratch/notes")
    async def count_notes(pool: PoolDep) -> dict[str, int]:
        return {"notes": int(await pool.fetchval("SELECT count(*) FROM notes"))}

    return router


async def _request_notes(
    url: str, redis_db: TestRedis, tmp_path: Path, grant: str
) -> tuple[int, str]:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "99991231000000_add_notes.sql").write_text(NOTES_MIGRATION.format(grant=grant))
    await asyncio.to_thread(migrate, url, migrations_dir=folder)
    await set_app_password(url, as_app_user(url))
    database = TestDatabase(name=url.rsplit("/", 1)[1], url=url)
    fastapi_app = create_app(make_settings(database, redis_db))  # as the app role
    fastapi_app.include_router(_notes_router())
    async with LifespanManager(fastapi_app) as manager:
        started = RunningApp(asgi=manager.app, state=state_of(manager._state))
        async with http_client(started) as client:
            response = await client.get("/scratch/notes")
    return response.status_code, response.text


async def test_a_table_without_its_grant_fails_the_request_with_a_clear_error(
    scratch_url: str, redis_db: TestRedis, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    status, body = await _request_notes(scratch_url, redis_db, tmp_path, grant="")
    assert status == 500
    assert "lacks a database permission" in body
    assert not re.search(r"(?i)select|notes|permission denied", body)  # no SQL, no table
    assert "permission denied for table notes" in capfd.readouterr().out  # the log says what


async def test_the_same_table_with_its_grant_serves_the_request(
    scratch_url: str, redis_db: TestRedis, tmp_path: Path
) -> None:
    grant = "GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO app_user;"
    status, body = await _request_notes(scratch_url, redis_db, tmp_path, grant=grant)
    assert (status, body) == (200, '{"notes":0}')


def test_the_app_expects_the_newest_migration_file(tmp_path: Path) -> None:
    for name in ("20260101000000_a.sql", "20261231235959_c.sql", "20260601000000_b.sql"):
        (tmp_path / name).write_text("-- migrate:up\n-- migrate:down\n")
    assert newest_migration(tmp_path) == "20261231235959"
    assert newest_migration() == max(p.name.split("_")[0] for p in MIGRATIONS_DIR.glob("*.sql"))


def test_a_missing_migrations_folder_is_an_error_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no migrations"):
        newest_migration(tmp_path)
