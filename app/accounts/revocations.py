"""Drops the sessions of accounts that were deleted or disabled, however that happened.

`GET /getName` answers from Redis alone (the session and its cached profile, one round trip),
so a row deleted with plain SQL would go unnoticed there until the session expired. Instead,
PostgreSQL itself reports every such change: the `users_deleted` and `users_access_changed`
triggers (init.sql) add a row to `account_revocations` and `pg_notify('account_revocations')`
in the transaction of the change. Every worker LISTENs; on a notification (delivered at
commit) one of them claims the rows (`FOR UPDATE SKIP LOCKED`), deletes the account's sessions,
its cached profile and its one-time tokens, and stamps the rows done. A notification missed
while reconnecting is not lost: the rows wait in the table, and the queue is worked through at
every connect and every `POLL_SECONDS`. The hot path gains nothing: no request asks PostgreSQL
or an extra Redis key whether its account still exists.
"""

from __future__ import annotations

import time

import asyncpg

from app.accounts.listening import ListenConfig, ListeningWorker
from app.accounts.tokens import OneTimeTokens
from app.auth.profile_cache import profile_key
from app.auth.sessions import SessionStore
from app.core.settings import Settings
from utils.redis.redis import RedisClient

CHANNEL = "account_revocations"  # init.sql's users_deleted / users_access_changed triggers
POLL_SECONDS = 30.0
KEEP_DONE_SECONDS = 24 * 3600
PRUNE_EVERY_SECONDS = 600.0
BATCH = 100

CLAIM_SQL = """
SELECT id, user_id, reason
  FROM account_revocations
 WHERE done_at IS NULL
 ORDER BY id
 LIMIT $1
   FOR UPDATE SKIP LOCKED
"""
DONE_SQL = "UPDATE account_revocations SET done_at = now() WHERE id = ANY($1::bigint[])"
PRUNE_SQL = """
DELETE FROM account_revocations
 WHERE id IN (SELECT id FROM account_revocations
               WHERE done_at < now() - make_interval(secs => $1) LIMIT 1000)
"""


class AccountCleaner:
    """What goes in Redis when an account goes: shared by the API, the CLI and the listener."""

    def __init__(self, *, redis: RedisClient, sessions: SessionStore, tokens: OneTimeTokens):
        self._redis = redis
        self._sessions = sessions
        self._tokens = tokens

    async def forget(self, user_id: int) -> None:
        """Every session, the cached profile and the one-time tokens of the account."""
        await self._sessions.revoke_all(user_id)
        await self._redis.delete(profile_key(user_id))
        await self._tokens.revoke_all(user_id)

    async def apply(self, user_id: int, reason: str) -> None:
        if reason == "role_changed":
            await self._redis.delete(profile_key(user_id))  # the next request reads the row
        else:  # deleted, disabled
            await self.forget(user_id)


class RevocationListener(ListeningWorker):
    channel = CHANNEL

    def __init__(self, config: ListenConfig, cleaner: AccountCleaner) -> None:
        super().__init__(config)
        self._cleaner = cleaner
        self._next_prune = 0.0

    async def work(self, conn: asyncpg.Connection) -> None:
        while await self.apply_batch(conn) == BATCH:
            pass
        if time.monotonic() >= self._next_prune:
            await conn.execute(PRUNE_SQL, float(KEEP_DONE_SECONDS))
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS

    async def apply_batch(self, conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            rows = await conn.fetch(CLAIM_SQL, BATCH)
            for user_id, reason in dict.fromkeys((r["user_id"], r["reason"]) for r in rows):
                await self._cleaner.apply(user_id, reason)
            if rows:
                await conn.execute(DONE_SQL, [r["id"] for r in rows])
        return len(rows)


def build_revocation_listener(settings: Settings, cleaner: AccountCleaner) -> RevocationListener:
    config = ListenConfig.from_settings(settings, suffix="revocations", poll_seconds=POLL_SECONDS)
    return RevocationListener(config, cleaner)
