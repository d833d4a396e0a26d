"""Trigram search over display names and usernames (pg_trgm GIN indexes, see init.sql)."""

from __future__ import annotations

from app.user.schemas import UserMatch
from utils.database.psql import Pool

SEARCH_SQL = """
SELECT username, name, greatest(similarity(name, $1), similarity(username, $1)) AS score
  FROM users
 WHERE name % $1 OR username % $1
 ORDER BY score DESC, id
 LIMIT $2
"""


async def search_users(*, pool: Pool, query: str, limit: int) -> list[UserMatch]:
    rows = await pool.fetch(SEARCH_SQL, query, limit)
    return [UserMatch(username=r["username"], name=r["name"], score=r["score"]) for r in rows]
