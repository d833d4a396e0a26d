"""The test session's own PostgreSQL database and Redis DB index (real services, no fakes).

TEST_DATABASE_URL names an admin connection (default: local trust auth); TEST_REDIS_URL the
Redis DB index the tests prefer (default 15; a session takes the next free one when another
holds it). Only what the tests create is removed.

The schema is built by the migrations (db/migrations), as the owner; the app under test connects
as the app role (`TestDatabase.app_url`), as in production, so a missing GRANT fails the tests.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

from tools.devstack.private import for_test_session
from tools.devstack.schema import APP_ROLE, migrate, set_app_password

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The app role's password, as in .env.local: tests and `make local` set the same one.
APP_PASSWORD = "local-app-password"
# Nothing answering there (a machine without them): private instances for this session.
PRIVATE_SERVICES = for_test_session(ADMIN_URL, REDIS_URL)
ADMIN_URL, REDIS_URL = PRIVATE_SERVICES.database_url, PRIVATE_SERVICES.redis_url

HOW_TO_START = {
    "postgres": "start it (e.g. `pg_ctlcluster 15 main start`) or set TEST_DATABASE_URL",
    "redis": "start it (e.g. `redis-server --daemonize yes`) or set TEST_REDIS_URL",
}


class ServiceUnavailable(RuntimeError):
    def __init__(self, service: str, url: str, exc: BaseException) -> None:
        super().__init__(
            f"{service} is not reachable at {redact(url)} ({type(exc).__name__}: {exc}); "
            f"{HOW_TO_START[service]}"
        )


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def as_app_user(url: str) -> str:
    """The same database, as the application's least-privilege role."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}:{APP_PASSWORD}@{host}"))


async def load_schema(url: str) -> None:
    """Apply the migrations as the owner of `url`, then start user ids at a random offset.

    Scratch databases would all number users from 1 while sharing one Redis DB index, so the
    `user:<id>` profile cache of one database would leak into another's tests."""
    await asyncio.to_thread(migrate, url)
    await set_app_password(url, as_app_user(url))
    conn = await asyncpg.connect(url)
    try:
        offset = 10**6 + secrets.randbelow(10**12)
        await conn.execute(f"ALTER TABLE users ALTER COLUMN id RESTART WITH {offset}")
    finally:
        await conn.close()


@dataclass
class TestDatabase:
    __test__ = False  # a fixture helper, not a test class

    name: str
    url: str  # the owner's: set-up and inspection only, always PostgreSQL itself
    # Set when the app reaches the database through PgBouncer: the pooler's URL (app role).
    pooled_app_url: str | None = None

    @property
    def app_url(self) -> str:
        """What the app under test connects with (through PgBouncer when the backend has one)."""
        return self.pooled_app_url or self.direct_app_url

    @property
    def direct_app_url(self) -> str:
        """PostgreSQL itself, as the app's role."""
        return as_app_user(self.url)

    @property
    def direct_url(self) -> str | None:
        """Set when `app_url` goes through PgBouncer: the way around it (the relay's)."""
        return self.direct_app_url if self.pooled_app_url else None

    @classmethod
    async def create(cls) -> TestDatabase:
        name = f"test_app_{secrets.token_hex(4)}"
        try:
            admin = await asyncpg.connect(ADMIN_URL, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            raise ServiceUnavailable("postgres", ADMIN_URL, exc) from None
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        db = cls(name=name, url=with_database(ADMIN_URL, name))
        await db.load_schema()
        return db

    async def load_schema(self) -> None:
        await load_schema(self.url)

    async def drop(self) -> None:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


# A test session claims a Redis DB index of its own (this key, set only if absent), so that
# sessions running at once (several people, CI beside a developer) never remove each other's
# keys; it expires on its own if a session dies without releasing it.
CLAIM_KEY = "test-session:claim"
CLAIM_SECONDS = 4 * 3600
REDIS_DB_INDEXES = range(15, 0, -1)  # never 0: the development stack's


@dataclass
class TestRedis:
    __test__ = False  # a fixture helper, not a test class

    url: str
    keys_before: set[str]
    cluster: bool = False  # a throwaway Redis Cluster, `url` one of its nodes
    claim: str | None = None  # this session's token in CLAIM_KEY

    @classmethod
    async def open(cls) -> TestRedis:
        """The DB index of TEST_REDIS_URL, or the next free one when another session holds it."""
        preferred = urlsplit(REDIS_URL)
        first = int(preferred.path.lstrip("/") or 0)
        token = secrets.token_hex(8)
        for index in [first, *(i for i in REDIS_DB_INDEXES if i != first)]:
            url = urlunsplit(preferred._replace(path=f"/{index}"))
            client = aioredis.from_url(url, decode_responses=True, socket_timeout=5)
            try:
                if index != first and await client.dbsize():
                    continue  # another user's data (e.g. a benchmark's): not a free index
                if await client.set(CLAIM_KEY, token, nx=True, ex=CLAIM_SECONDS):
                    keys = {k async for k in client.scan_iter(count=1000)} - {CLAIM_KEY}
                    return cls(url=url, keys_before=keys, claim=token)
            except (OSError, aioredis.RedisError) as exc:
                raise ServiceUnavailable("redis", REDIS_URL, exc) from None
            finally:
                await client.aclose()
        raise ServiceUnavailable("redis", REDIS_URL, RuntimeError("every DB index is claimed"))

    async def remove_own_keys(self) -> None:
        client = aioredis.from_url(self.url, decode_responses=True)
        try:
            mine = [
                k
                async for k in client.scan_iter(count=1000)
                if k not in self.keys_before and k != CLAIM_KEY
            ]
            for start in range(0, len(mine), 500):
                await client.delete(*mine[start : start + 500])
            if self.claim is not None and await client.get(CLAIM_KEY) == self.claim:
                await client.delete(CLAIM_KEY)
        finally:
            await client.aclose()


@asynccontextmanager
async def database_where_renames_run(plpgsql: str) -> AsyncIterator[TestDatabase]:
    """A scratch database (dropped on exit) in which every change of a user's name first runs
    `plpgsql` (a BEFORE UPDATE OF name trigger): a write that is slow, or that fails."""
    db = await TestDatabase.create()
    try:
        conn = await asyncpg.connect(db.url)
        try:
            await conn.execute(
                "CREATE FUNCTION on_rename() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + plpgsql
                + " END $$; CREATE TRIGGER on_rename BEFORE UPDATE OF name ON users"
                " FOR EACH ROW EXECUTE FUNCTION on_rename();"
            )
        finally:
            await conn.close()
        yield db
    finally:
        await db.drop()
