"""init.sql: idempotent, constraints at the database, indexes used by the app's own queries,
and a least-privilege application role."""

import random
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.auth.service import FIND_USER_SQL
from app.user.service import SEARCH_SQL
from tests.services import ROOT, TestDatabase

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
async def conn(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.url)
    yield connection
    await connection.close()


SCHEMA_SHAPE_SQL = """
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'column', table_name || '.' || column_name, data_type || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY 1, 2
"""


async def test_init_sql_can_run_again_without_changing_the_schema_or_the_data(
    conn: asyncpg.Connection,
) -> None:
    name = "rerun_" + secrets.token_hex(4)
    await conn.execute("INSERT INTO users (username, password_hash) VALUES ($1, $2)", name, HASH)
    shape = await conn.fetch(SCHEMA_SHAPE_SQL)
    users = await conn.fetchval("SELECT count(*) FROM users")
    await conn.execute((ROOT / "init.sql").read_text())
    assert await conn.fetch(SCHEMA_SHAPE_SQL) == shape
    assert await conn.fetchval("SELECT count(*) FROM users") == users
    assert await conn.fetchval("SELECT password_hash FROM users WHERE username = $1", name) == HASH


async def test_username_is_unique_regardless_of_case(conn: asyncpg.Connection) -> None:
    name = "Alice" + secrets.token_hex(4)
    await conn.execute("INSERT INTO users (username, password_hash) VALUES ($1, $2)", name, HASH)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ($1, $2)", name.lower(), HASH
        )


@pytest.mark.parametrize(
    ("username", "name"),
    [("", "ok"), ("has space", "ok"), ("u" * 65, "ok"), ("fine", "n" * 101), ("fine2", "a\nb")],
)
async def test_database_rejects_impossible_rows(
    conn: asyncpg.Connection, username: str, name: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO users (username, password_hash, name) VALUES ($1, $2, $3)",
            username + secrets.token_hex(2) if username == "fine" else username,
            HASH,
            name,
        )


async def test_updated_at_is_kept_current_by_trigger(conn: asyncpg.Connection) -> None:
    user_id = await conn.fetchval(
        "INSERT INTO users (username, password_hash, created_at, updated_at)"
        " VALUES ($1, $2, now() - interval '1 day', now() - interval '1 day') RETURNING id",
        "trig" + secrets.token_hex(4),
        HASH,
    )
    await conn.execute("UPDATE users SET name = 'changed' WHERE id = $1", user_id)
    row = await conn.fetchrow("SELECT created_at, updated_at FROM users WHERE id = $1", user_id)
    assert row is not None
    assert row["updated_at"] > row["created_at"]


async def test_app_role_can_write_rows_but_not_alter_tables(
    conn: asyncpg.Connection, database: TestDatabase
) -> None:
    await conn.execute("SET ROLE app_user")
    try:
        await conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ($1, $2)",
            "role" + secrets.token_hex(4),
            HASH,
        )
        for ddl in (
            "ALTER TABLE users ADD COLUMN x int",
            "DROP TABLE account_revocations",
            "CREATE TABLE sneaky (id int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ddl)
    finally:
        await conn.execute("RESET ROLE")


async def _plan(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    rows = await conn.fetch(f"EXPLAIN (FORMAT TEXT) {sql}", *args)
    return "\n".join(r[0] for r in rows)


def _random_name(rng: random.Random) -> str:
    """Names of varied letters, like real ones, so trigram statistics are realistic."""
    syllables = ["ka", "lo", "mi", "ra", "ten", "sho", "vi", "an", "el", "dor", "zu", "bre"]
    return " ".join(
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
        for _ in range(2)
    )


@pytest.fixture(scope="module")
async def twenty_thousand_users(database: TestDatabase) -> None:
    rng = random.Random(20_000)
    connection = await asyncpg.connect(database.url)
    try:
        tag = secrets.token_hex(3)
        records = [(f"bulk_{tag}_{i}", HASH, _random_name(rng)) for i in range(20_000)]
        await connection.copy_records_to_table(
            "users", records=records, columns=["username", "password_hash", "name"]
        )
        await connection.execute("ANALYZE users")
    finally:
        await connection.close()


@pytest.mark.usefixtures("twenty_thousand_users")
async def test_login_lookup_is_an_index_scan(conn: asyncpg.Connection) -> None:
    plan = await _plan(conn, FIND_USER_SQL, "bulk_user_123")
    assert "users_username_lower_key" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.usefixtures("twenty_thousand_users")
async def test_name_search_uses_the_trigram_indexes(conn: asyncpg.Connection) -> None:
    plan = await _plan(conn, SEARCH_SQL, "Kalomi Tendor", 10)
    assert "users_name_trgm_idx" in plan, plan
    assert "users_username_trgm_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
