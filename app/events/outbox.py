"""The relay's SQL over the `outbox` table (see init.sql), one function per statement."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from app.events.envelope import Envelope

# SKIP LOCKED: the advisory lock already makes one relay active, but a relay that is being
# replaced (its old connection still dying) must not block the new one on the same rows.
CLAIM_PENDING_SQL = """
SELECT id, event_id::text AS event_id, event_type, schema_version, occurred_at, aggregate_id,
       payload::text AS payload, traceparent
  FROM outbox
 WHERE published_at IS NULL
 ORDER BY id
 LIMIT $1
   FOR UPDATE SKIP LOCKED
"""

# The partial index outbox_pending_idx keeps this to the pending rows.
BACKLOG_SQL = """
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS oldest_age
  FROM outbox
 WHERE published_at IS NULL
"""

MARK_PUBLISHED_SQL = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"

# Bounded by $2 rows per call so pruning never holds many row locks or one long transaction.
PRUNE_PUBLISHED_SQL = """
DELETE FROM outbox
 WHERE id IN (
       SELECT id FROM outbox
        WHERE published_at < now() - make_interval(secs => $1)
        LIMIT $2)
"""


async def claim_pending(conn: asyncpg.Connection, limit: int) -> tuple[list[int], list[Envelope]]:
    """Lock the oldest pending rows; call inside a transaction that marks them published."""
    rows = await conn.fetch(CLAIM_PENDING_SQL, limit)
    events = [
        Envelope(
            event_id=row["event_id"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            occurred_at=row["occurred_at"],
            aggregate_id=row["aggregate_id"],
            payload=row["payload"],
            traceparent=row["traceparent"],
        )
        for row in rows
    ]
    return [row["id"] for row in rows], events


async def mark_published(conn: asyncpg.Connection, ids: Sequence[int]) -> None:
    await conn.execute(MARK_PUBLISHED_SQL, list(ids))


async def prune_published(conn: asyncpg.Connection, *, older_than_seconds: int, limit: int) -> int:
    """Delete up to `limit` rows published longer ago than `older_than_seconds`; return count."""
    status = await conn.execute(PRUNE_PUBLISHED_SQL, float(older_than_seconds), limit)
    return int(status.split()[-1])


async def backlog(conn: asyncpg.Connection) -> tuple[int, float]:
    """Pending events and the age in seconds of the oldest one (0 when none)."""
    row = await conn.fetchrow(BACKLOG_SQL)
    assert row is not None  # an aggregate always returns one row
    return int(row["pending"]), float(row["oldest_age"])
