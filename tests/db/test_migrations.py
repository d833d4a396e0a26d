"""Migrations (dbmate, db/migrations): init.sql and the migrations give the same schema, a
database of the pre-migration era is adopted, the worked example of docs/migrations.md applies
and rolls back, and a table without its GRANT fails a request clearly.

A service adds migrations of its own (`make domain`, a team's `make migration`): none of these
checks may depend on the template's migrations being the only ones. Each runs on the shipped
folder and on a copy with a service's new table (`schema` fixture); the adoption and the worked
example run on scratch folders that hold only the migrations they are about."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
EXAMPLE = sorted(EXAMPLE_DIR.glob("*.sql"))
BASELINE = next(MIGRATIONS_DIR.glob("*_baseline.sql"))


def version(migration: Path) -> str:
    return migration.name.split("_", 1)[0]


@dataclass(frozen=True)
class Schema:
    """A migrations folder and the init.sql that mirrors it."""

    migrations: Path
    init_sql: Path


SHIPPED = Schema(MIGRATIONS_DIR, ROOT / "init.sql")

# A service's own table, as `make domain` or a team would add it: a migration newer than every
# other, and the same statements at the end of init.sql.
WIDGETS_SQL = """
CREATE TABLE IF NOT EXISTS widgets (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label     text   NOT NULL
);
CREATE INDEX IF NOT EXISTS widgets_owner_id_id_idx ON widgets (owner_id, id);
GRANT SELECT, INSERT, UPDATE, DELETE ON widgets TO app_user;
"""
WIDGETS_MIGRATION = f"-- migrate:up\n{WIDGETS_SQL}\n-- migrate:down\nDROP TABLE widgets;\n"


def with_a_new_table(folder: Path, *, mirrored: bool = True) -> Schema:
    """db/migrations plus `99991231000000_create_widgets.sql`, and init.sql with its mirror
    (or without it: the mistake the comparison must catch)."""
    migrations = folder / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations)
    (migrations / "99991231000000_create_widgets.sql").write_text(WIDGETS_MIGRATION)
    init_sql = folder / "init.sql"
    init_sql.write_text(SHIPPED.init_sql.read_text() + (WIDGETS_SQL if mirrored else ""))
    return Schema(migrations, init_sql)


@pytest.fixture(params=["shipped", "with-a-new-table"])
def schema(request: pytest.FixtureRequest, tmp_path: Path) -> Schema:
    """The repository's migrations and init.sql, then the same with a service's table added."""
    return SHIPPED if request.param == "shipped" else with_a_new_table(tmp_path / "service")


def folder_of(folder: Path, migrations: list[Path]) -> Path:
    """A migrations folder holding exactly `migrations`."""
    folder.mkdir(parents=True)
    for path in migrations:
        shutil.copy(path, folder / path.name)
    return folder


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


async def _schema_from_init_sql(init_sql: Path) -> str:
    """`pg_dump` of a database built by running `init_sql`."""
    name = f"test_init_{secrets.token_hex(4)}"
    url = await _create_empty(name)
    try:
        await _execute(url, init_sql.read_text())
        return await _pg_dump(url)
    finally:
        await _drop(name)


async def test_init_sql_and_the_migrations_build_the_same_schema(
    scratch_url: str, schema: Schema
) -> None:
    await asyncio.to_thread(migrate, scratch_url, migrations_dir=schema.migrations)
    assert await _schema_from_init_sql(schema.init_sql) == await _pg_dump(scratch_url)


async def test_a_migration_without_its_mirror_in_init_sql_is_caught(
    scratch_url: str, tmp_path: Path
) -> None:
    unmirrored = with_a_new_table(tmp_path, mirrored=False)
    await asyncio.to_thread(migrate, scratch_url, migrations_dir=unmirrored.migrations)
    assert await _schema_from_init_sql(unmirrored.init_sql) != await _pg_dump(scratch_url)


async def test_a_database_created_before_migrations_is_adopted_without_changes(
    scratch_url: str, schema: Schema, tmp_path: Path
) -> None:
    """Adoption is the baseline's work alone: it records itself and changes nothing. The
    migrations after it (the template's, then a service's) then apply as on any database."""
    await _execute(scratch_url, _baseline_up_sql())
    baseline_only = folder_of(tmp_path / "baseline-only", [BASELINE])
    conn = await asyncpg.connect(scratch_url)
    try:
        await conn.execute(
            "INSERT INTO users (username, password_hash, name) VALUES ('kept', '$argon2id$x', 'K')"
        )
        objects = "SELECT relname, oid FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        before = {row["relname"]: row["oid"] for row in await conn.fetch(objects)}
        await asyncio.to_thread(migrate, scratch_url, migrations_dir=baseline_only)
        after = {row["relname"]: row["oid"] for row in await conn.fetch(objects)}
        adopted = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        await asyncio.to_thread(migrate, scratch_url, migrations_dir=schema.migrations)
        applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        kept = await conn.fetchval("SELECT name FROM users WHERE username = 'kept'")
    finally:
        await conn.close()
    assert adopted == [version(BASELINE)]
    # Same objects, same oids: nothing was dropped or rebuilt (only dbmate's table is new).
    assert {k: v for k, v in after.items() if not k.startswith("schema_migrations")} == before
    assert applied == {version(path) for path in schema.migrations.glob("*.sql")}
    assert kept == "K"


def example_chain(schema: Schema) -> list[Path]:
    """The migrations the worked example was written on: those older than its first file. A
    service's own, newer ones stay out, so rolling the example back never reaches them."""
    first = version(EXAMPLE[0])
    return sorted(p for p in schema.migrations.glob("*.sql") if version(p) < first)


async def test_the_worked_example_applies_with_a_batched_backfill_and_rolls_back(
    scratch_url: str, schema: Schema, tmp_path: Path
) -> None:
    chain = example_chain(schema)
    assert chain[0] == schema.migrations / BASELINE.name
    without_example = folder_of(tmp_path / "chain", chain)
    with_example = folder_of(tmp_path / "chain-and-example", [*chain, *EXAMPLE])
    await asyncio.to_thread(migrate, scratch_url, migrations_dir=without_example)
    before = await _pg_dump(scratch_url)
    conn = await asyncpg.connect(scratch_url)
    try:
        rows = [(f"ex_{i}", "$argon2id$x", f"Name {i}") for i in range(2_500)]  # three batches
        await conn.copy_records_to_table(
            "users", records=rows, columns=["username", "password_hash", "name"]
        )
        await asyncio.to_thread(migrate, scratch_url, migrations_dir=with_example)
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
    for _ in EXAMPLE:
        await asyncio.to_thread(dbmate, scratch_url, "rollback", migrations_dir=with_example)
    assert await _pg_dump(scratch_url) == before
    conn = await asyncpg.connect(scratch_url)
    try:
        left = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    finally:
        await conn.close()
    assert left == {version(path) for path in chain}


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
