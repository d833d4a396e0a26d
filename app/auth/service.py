"""Login: find the account, count the attempt, verify the password, open a session, record the
event."""

from __future__ import annotations

import asyncpg

from app.auth.exceptions import (
    AccountDisabled,
    EmailNotVerified,
    InvalidCredentials,
    LoginThrottled,
)
from app.auth.lifespan import AuthState
from app.auth.passwords import ClientGone
from app.auth.schemas import LoginRequest
from app.auth.throttle import throttle_key
from app.observability.metrics import record_login
from app.observability.tracing import current_traceparent  # part:events
from utils.database.psql import Pool

# Always one row: the account (if any) and PostgreSQL's own folding of the name, so the throttle
# key and the lookup can never disagree on which spellings are the same user.
FIND_USER_SQL = """
SELECT q.folded, u.id, u.password_hash, u.disabled_at IS NOT NULL AS disabled,
       u.email IS NOT NULL AND u.email_verified_at IS NULL AS unverified
  FROM (SELECT lower($1::text) AS folded) AS q
  LEFT JOIN users u ON lower(u.username) = q.folded
"""

# One statement, so the login stamp, an upgraded hash and the outbox event commit together. No
# row: the account was deleted or disabled since it was read, and the new session must go.
RECORD_LOGIN_SQL = """
WITH u AS (
    UPDATE users
       SET last_login_at = now(), password_hash = coalesce($2, password_hash)
     WHERE id = $1 AND disabled_at IS NULL
 RETURNING id, username
-- >>> part:events
), event AS (
    INSERT INTO outbox (event_type, aggregate_id, payload, traceparent)
    SELECT 'user.logged_in', u.id, jsonb_build_object('user_id', u.id, 'username', u.username), $3
      FROM u
-- <<< part:events
)
SELECT id FROM u
"""


async def login(
    *,
    pool: Pool,
    auth: AuthState,
    credentials: LoginRequest,
    client: str,
    client_gone: ClientGone | None = None,
    require_verified_email: bool = False,
) -> str:
    """Return a new session token, or raise InvalidCredentials / LoginThrottled / HasherBusy, or
    (right password only) AccountDisabled / EmailNotVerified."""
    hasher, sessions, throttle = auth.hasher, auth.sessions, auth.throttle
    username, password = credentials.username, credentials.password
    hasher.shed_if_busy()  # overload: refuse before any round trip (passwords.py)
    row: asyncpg.Record | None = await pool.fetchrow(FIND_USER_SQL, username)
    assert row is not None  # the query always returns one row
    key = throttle_key(account_id=row["id"], folded_username=row["folded"], client=client)
    attempt = await throttle.count_attempt(key)
    if attempt.retry_after is not None:
        record_login("throttled")
        raise LoginThrottled(attempt.retry_after)
    stored_hash: str | None = row["password_hash"]
    # Runs for unknown users too.
    valid = await hasher.verify(stored_hash, password, client_gone=client_gone)
    if row["id"] is None or stored_hash is None or not valid:
        record_login("invalid")
        raise InvalidCredentials
    if row["disabled"]:
        record_login("invalid")
        raise AccountDisabled
    if require_verified_email and row["unverified"]:
        record_login("invalid")
        raise EmailNotVerified
    new_hash = await hasher.hash(password) if hasher.needs_rehash(stored_hash) else None
    token = await sessions.create(row["id"])
    try:
        recorded = await pool.execute(
            RECORD_LOGIN_SQL,
            row["id"],
            new_hash,
            current_traceparent(),  # part:events
        )
    except BaseException:
        # No event may describe a login that the client never got: drop the session again.
        await sessions.revoke(token=token, user_id=row["id"])
        raise
    if recorded.endswith(" 0"):  # deleted or disabled meanwhile: no session outlives that
        await sessions.revoke(token=token, user_id=row["id"])
        record_login("invalid")
        raise InvalidCredentials
    await throttle.reset(key)
    record_login("success")
    return token
