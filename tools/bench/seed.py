"""The benchmark's own PostgreSQL database and Redis DB index, and the users and sessions in them.

Everything created here is removed again: the database is dropped and only the Redis keys that
appeared during the run are deleted (the index must be empty at the start, so that is all of
them, and nobody else's data is touched).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis
from argon2 import PasswordHasher, Type

from app.auth.profile_cache import ProfileCache
from app.auth.sessions import SessionStore
from app.core.settings import Settings
from tools.devstack.schema import migrate

SEED_PASSWORD = "bench-password-0123"  # noqa: S105 (a throwaway password of seeded users)
BATCH = 500
# The naive reference's sessions (tools/bench/naive_app.py reads the same prefix).
NAIVE_SESSION_PREFIX = "naive:session:"
# Written first into the run's Redis index (and removed with every other key at the end).
CLAIM_KEY = "bench:claim"


class SeedError(RuntimeError):
    pass


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def hasher_for(settings: Settings) -> PasswordHasher:
    """The same argon2id parameters the app uses."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )


@dataclass
class ScratchDatabase:
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        return with_database(self.admin_url, self.name)

    @classmethod
    async def create(cls, admin_url: str) -> ScratchDatabase:
        name = f"bench_{secrets.token_hex(4)}"
        try:
            admin = await asyncpg.connect(admin_url, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            raise SeedError(f"PostgreSQL is not reachable at {admin_url}: {exc}") from None
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        db = cls(admin_url=admin_url, name=name)
        await asyncio.to_thread(migrate, db.url)  # the schema as every deployment builds it
        return db

    async def drop(self) -> None:
        admin = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class ScratchRedis:
    url: str

    @classmethod
    async def open(cls, url: str) -> ScratchRedis:
        """The index at `url`, empty, claimed at once with a key of the run's: whoever looks
        for a free index (test sessions do) sees it taken from now on."""
        client = aioredis.from_url(url, socket_timeout=5)
        claim = secrets.token_hex(8)
        try:
            size = await client.dbsize()
            if not size:
                await client.set(CLAIM_KEY, claim, nx=True)
                size = await client.dbsize() - 1  # somebody else's keys written meanwhile
                if size and await client.get(CLAIM_KEY) == claim.encode():
                    await client.delete(CLAIM_KEY)
        except (OSError, aioredis.RedisError) as exc:
            raise SeedError(f"Redis is not reachable at {url}: {exc}") from None
        finally:
            await client.aclose()
        if size:
            raise SeedError(
                f"Redis DB at {url} holds {size} keys; the benchmark needs an empty index of its "
                "own: pass --redis-url with a free index, or empty it if it is a leftover of an "
                "interrupted benchmark (redis-cli -n <index> flushdb)"
            )
        return cls(url=url)

    async def remove_keys(self) -> None:
        """The index was empty at the start: every key in it now was made by this run."""
        client = aioredis.from_url(self.url, socket_timeout=10)
        try:
            batch: list[bytes] = []
            async for key in client.scan_iter(count=1000):
                batch.append(key)
                if len(batch) >= BATCH:
                    await client.delete(*batch)
                    batch = []
            if batch:
                await client.delete(*batch)
        finally:
            await client.aclose()


@dataclass(frozen=True)
class Seeded:
    tokens_file: Path
    users_file: Path
    users: int


async def seed(
    *, db: ScratchDatabase, redis_url: str, settings: Settings, users: int, out_dir: Path
) -> Seeded:
    """`users` accounts sharing one password hash (hashing each would take minutes), and one
    session per account, created with the app's own SessionStore.

    The profile cache is filled as the first `GET /getName` of each user would fill it, so the
    cases measure the steady state; a cold cache sends every first request to PostgreSQL.

    Each session also gets the naive reference's equivalent, `naive:session:<token>`, a hash
    of the same username and name (what its one `HGETALL` per `/getName` reads)."""
    password_hash = hasher_for(settings).hash(SEED_PASSWORD)
    names = [f"bench_{i:06d}" for i in range(1, users + 1)]
    conn = await asyncpg.connect(db.url)
    try:
        await conn.copy_records_to_table(
            "users",
            records=[(n, password_hash, f"Bench {n}") for n in names],
            columns=["username", "password_hash", "name"],
        )
        rows = await conn.fetch("SELECT id, username, name, version FROM users ORDER BY id")
    finally:
        await conn.close()
    client = aioredis.from_url(redis_url, decode_responses=True, socket_timeout=10)
    try:
        ttl = settings.session_ttl_seconds
        store = SessionStore(
            client, ttl_seconds=ttl, max_lifetime_seconds=settings.session_max_lifetime_seconds
        )
        profiles = ProfileCache(client, ttl_seconds=ttl)
        tokens = []
        for row in rows:
            tokens.append(await store.create(row["id"]))
            await profiles.store(
                user_id=row["id"],
                version=row["version"],
                username=row["username"],
                name=row["name"],
            )
        for start in range(0, len(rows), BATCH):
            async with client.pipeline(transaction=False) as pipe:
                for token, row in zip(
                    tokens[start : start + BATCH], rows[start : start + BATCH], strict=True
                ):
                    pipe.hset(
                        f"{NAIVE_SESSION_PREFIX}{token}",
                        mapping={"username": row["username"], "name": row["name"]},
                    )
                await pipe.execute()
    finally:
        await client.aclose()
    tokens_file = out_dir / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    users_file = out_dir / "users.txt"
    users_file.write_text("".join(f"{n} {SEED_PASSWORD}\n" for n in names))
    return Seeded(tokens_file=tokens_file, users_file=users_file, users=users)
