"""A LocalStack whose PostgreSQL and Redis belong to it alone (throwaway cluster and server on
spare ports), so faults can stop them without touching anything else on the host. With
`redis_cluster`, Redis is a throwaway Redis Cluster (three primaries, a replica each)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import asyncpg

from app.auth.passwords import PasswordHasherService
from app.core.settings import Settings
from tools.devstack.processes import free_port
from tools.devstack.schema import migrate
from tools.devstack.stack import LocalStack
from tools.devstack.throwaway import ThrowawayPostgres, ThrowawayRedis, ThrowawayRedisCluster

# The migrations' least-privilege role: the stack connects as the application does in production.
APP_ROLE = "app_user"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    id: int = 0
    role: str = "user"


@dataclass
class ChaosEnvironment:
    """`with ChaosEnvironment(run_dir, users=8) as env:` -> env.stack, env.redis, env.postgres."""

    run_dir: Path
    users: int = 8
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    accounts: list[Account] = field(default_factory=list)
    redis_cluster: bool = False
    # The last `admins` of the `users` accounts get the admin role.
    admins: int = 0

    def __post_init__(self) -> None:
        self.redis = ThrowawayRedis()
        self.cluster = ThrowawayRedisCluster() if self.redis_cluster else None
        self.killed_primary: ThrowawayRedis | None = None  # by the failover fault
        self.postgres = ThrowawayPostgres()
        self.stack: LocalStack | None = None

    def _start_redis(self) -> str:
        """Start Redis (or the cluster); its URL for the stack."""
        if self.cluster is not None:
            self.cluster.start()
            return self.cluster.url
        self.redis.start()
        return self.redis.url

    @property
    def database_url(self) -> str:
        return self.postgres.url.replace("postgres@", f"{APP_ROLE}@", 1)

    def __enter__(self) -> Self:
        try:
            redis_url = self._start_redis()
            self.postgres.start()
            asyncio.run(self._prepare_database())
            self.stack = LocalStack(
                env={
                    "ENVIRONMENT": "development",
                    "DATABASE_URL": self.database_url,
                    "REDIS_URL": redis_url,
                    "REDIS_CLUSTER": str(self.cluster is not None).lower(),
                    "SEED_DEMO_USER": "false",
                    "ACCESS_LOG": "true",
                    **self.extra_env,
                },
                http_port=free_port(),
                api_port=free_port(),
                workers=self.workers,
                run_dir=self.run_dir,
            )
            for log in self.stack.run_dir.glob("*.log"):  # this run's logs only
                log.unlink()
            self.stack.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        self.redis.stop()
        if self.cluster is not None:
            self.cluster.destroy()
        self.postgres.destroy()

    async def _prepare_database(self) -> None:
        """The migrations, then the accounts (argon2 hashes made here, as `app.cli create-user`
        does)."""
        hasher = PasswordHasherService(Settings.model_validate({}))
        await asyncio.to_thread(migrate, self.postgres.url)
        conn = await asyncpg.connect(self.postgres.url)
        try:
            for index in range(self.users):
                account = Account(
                    f"chaos_{index}_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
                )
                role = "admin" if index >= self.users - self.admins else "user"
                user_id = await conn.fetchval(
                    "INSERT INTO users (username, password_hash, name, role)"
                    " VALUES ($1, $2, $3, $4) RETURNING id",
                    account.username,
                    await hasher.hash(account.password),
                    "initial",
                    role,
                )
                self.accounts.append(Account(account.username, account.password, user_id, role))
        finally:
            await conn.close()

    async def names_in_database(self) -> dict[str, str]:
        """The source of truth for the lost-write check."""
        conn = await asyncpg.connect(self.postgres.url, timeout=5)
        try:
            rows = await conn.fetch("SELECT username, name FROM users")
        finally:
            await conn.close()
        return {row["username"]: row["name"] for row in rows}
