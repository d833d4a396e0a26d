"""Reading, changing and searching users' display names: each function with its SQL."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from app.auth.profile_cache import ProfileCache
from app.auth.sessions import Principal
from app.observability.tracing import current_traceparent  # part:events
from app.user.exceptions import SearchTooBroad, UserGone
from app.user.schemas import UserMatch, UserName
from utils.database.psql import Pool

GET_NAME_SQL = "SELECT username, name, role, version FROM users WHERE id = $1"

# One statement: the change and its outbox event commit or roll back together. The old name is
# read under the row lock so the event names exactly the value this write replaced.
SET_NAME_SQL = """
WITH old AS (
    SELECT id, name FROM users WHERE id = $1 FOR UPDATE
), changed AS (
    UPDATE users u SET name = $2, version = u.version + 1
      FROM old WHERE u.id = old.id
 RETURNING u.id, u.username, u.name, u.version, old.name AS old_name
-- >>> part:events
), event AS (
    INSERT INTO outbox (event_type, aggregate_id, payload, traceparent)
    SELECT 'user.name_changed', id,
           jsonb_build_object('user_id', id, 'old_name', old_name, 'new_name', name), $3
      FROM changed WHERE old_name IS DISTINCT FROM name
-- <<< part:events
)
SELECT c.username, c.name, c.version, u.role FROM changed c JOIN users u USING (id)
"""


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: int
    username: str
    name: str
    role: str


async def get_profile(*, pool: Pool, profiles: ProfileCache, user: Principal) -> Profile:
    """From the session's cached profile when warm; else the row, which warms the cache."""
    if user.username is not None and user.name is not None and user.role is not None:
        return Profile(user_id=user.user_id, username=user.username, name=user.name, role=user.role)
    row = await pool.fetchrow(GET_NAME_SQL, user.user_id)
    if row is None:
        raise UserGone
    await profiles.store(
        user_id=user.user_id,
        version=row["version"],
        username=row["username"],
        name=row["name"],
        role=row["role"],
    )
    return Profile(
        user_id=user.user_id, username=row["username"], name=row["name"], role=row["role"]
    )


async def set_name(*, pool: Pool, profiles: ProfileCache, user: Principal, name: str) -> UserName:
    row = await pool.fetchrow(
        SET_NAME_SQL,
        user.user_id,
        name,
        current_traceparent(),  # part:events
    )
    if row is None:
        raise UserGone
    await profiles.store(
        user_id=user.user_id,
        version=row["version"],
        username=row["username"],
        name=row["name"],
        role=row["role"],
    )
    return UserName(username=row["username"], name=row["name"])


# Trigram search over display names and usernames (pg_trgm GIN indexes, see init.sql).
SEARCH_SQL = """
SELECT username, name, greatest(similarity(name, $1), similarity(username, $1)) AS score
  FROM users
 WHERE name % $1 OR username % $1
 ORDER BY score DESC, id
 LIMIT $2
"""


# The search's own time budget, for this transaction only (PgBouncer's transaction mode keeps it).
SEARCH_TIMEOUT_SQL = "SELECT set_config('statement_timeout', $1, true)"


async def search_users(*, pool: Pool, query: str, limit: int, timeout_ms: int) -> list[UserMatch]:
    """Raises SearchTooBroad when ranking the matches would take longer than `timeout_ms`."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(SEARCH_TIMEOUT_SQL, str(timeout_ms))
        try:
            rows = await connection.fetch(SEARCH_SQL, query, limit)
        except asyncpg.QueryCanceledError:
            raise SearchTooBroad from None
    return [UserMatch(username=r["username"], name=r["name"], score=r["score"]) for r in rows]
