"""Sign-up, verification, password change and reset, deletion, and the administrators' list
and switch: keyword-only functions, each with its SQL above it. A change and the mail it
announces are one statement (the mail row commits or rolls back with it)."""

from __future__ import annotations

import asyncpg
from fastapi.exceptions import RequestValidationError

from app.accounts.exceptions import (
    AccountNotFound,
    InvalidAccountToken,
    UsernameTaken,
    WeakPassword,
    WrongPassword,
)
from app.accounts.lifespan import AccountsState
from app.accounts.limits import (
    PASSWORD_CHECKS_PER_ACCOUNT,
    RESET_REQUESTS_PER_EMAIL,
    SIGNUP_PER_EMAIL,
    TOKEN_USES_PER_ACCOUNT,
    VERIFICATION_MAILS_PER_ACCOUNT,
)
from app.accounts.schemas import Account, AccountCreated, AdminAccount, SignupRequest
from app.accounts.tokens import ParsedToken, TokenKind, parse_token
from app.auth.exceptions import InvalidToken
from app.auth.passwords import PasswordHasherService
from app.auth.sessions import Principal, SessionStore
from app.observability.tracing import current_traceparent  # part:events
from utils.database.psql import Pool

EMAIL_INDEX = "users_email_lower_key"  # init.sql

# The account, its verification mail and its event, in one statement.
SIGNUP_SQL = """
WITH u AS (
    INSERT INTO users (username, password_hash, email) VALUES ($1, $2, $3)
 RETURNING id, username, email
), mail AS (
    INSERT INTO mail_outbox (template, user_id, recipient, params)
    SELECT 'verify_email', id, email, jsonb_build_object('username', username) FROM u
-- >>> part:events
), event AS (
    INSERT INTO outbox (event_type, aggregate_id, payload, traceparent)
    SELECT 'account.created', id, jsonb_build_object('user_id', id, 'username', username), $4
      FROM u
-- <<< part:events
)
SELECT id FROM u
"""
USERNAME_TAKEN_SQL = "SELECT EXISTS (SELECT FROM users WHERE lower(username) = lower($1))"
# The address has an account: its owner learns of the attempt, the caller learns nothing.
SIGNUP_ATTEMPT_SQL = """
INSERT INTO mail_outbox (template, user_id, recipient, params)
SELECT 'signup_attempt', id, email, '{}' FROM users WHERE lower(email) = lower($1)
"""


def _refuse_weak(state: AccountsState, password: str, *, username: str, field: str) -> None:
    problem = state.policy.problem(password, username=username)
    if problem is not None:
        raise WeakPassword(problem, field=field)


async def signup(
    *, pool: Pool, hasher: PasswordHasherService, state: AccountsState, request: SignupRequest
) -> AccountCreated:
    await state.limits.count(SIGNUP_PER_EMAIL, request.email)
    _refuse_weak(state, request.password, username=request.username, field="password")
    hasher.shed_if_busy()
    # Hashed before the insert on both paths: a taken address costs the same time.
    password_hash = await hasher.hash(request.password)
    created = AccountCreated(username=request.username, email=request.email)
    try:
        await pool.fetchval(
            SIGNUP_SQL,
            request.username,
            password_hash,
            request.email,
            current_traceparent(),  # part:events
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != EMAIL_INDEX or await pool.fetchval(
            USERNAME_TAKEN_SQL, request.username
        ):
            raise UsernameTaken from None
        await pool.execute(SIGNUP_ATTEMPT_SQL, request.email)
    except asyncpg.CheckViolationError:
        # The schema's checks mirror the request model's; a gap between the two is still the
        # input's fault, never a 500.
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Value refused by the database", "type": "value_error"}]
        ) from None
    return created


VERIFY_SQL = """
UPDATE users SET email_verified_at = coalesce(email_verified_at, now())
 WHERE id = $1 AND email IS NOT NULL
RETURNING id
"""


async def _token_of(state: AccountsState, token: str) -> ParsedToken:
    parsed = parse_token(token)
    if parsed is None:
        raise InvalidAccountToken
    await state.limits.count(TOKEN_USES_PER_ACCOUNT, parsed.user_id)
    return parsed


async def verify_email(*, pool: Pool, state: AccountsState, token: str) -> None:
    parsed = await _token_of(state, token)
    if not await state.tokens.consume(TokenKind.VERIFY_EMAIL, parsed):
        raise InvalidAccountToken
    if await pool.fetchval(VERIFY_SQL, parsed.user_id) is None:
        raise InvalidAccountToken  # the account went away meanwhile


RESEND_VERIFICATION_SQL = """
INSERT INTO mail_outbox (template, user_id, recipient, params)
SELECT 'verify_email', id, email, jsonb_build_object('username', username)
  FROM users WHERE id = $1 AND email IS NOT NULL AND email_verified_at IS NULL
"""


async def resend_verification(*, pool: Pool, state: AccountsState, user: Principal) -> None:
    await state.limits.count(VERIFICATION_MAILS_PER_ACCOUNT, user.user_id)
    await pool.execute(RESEND_VERIFICATION_SQL, user.user_id)


ACCOUNT_SQL = """
SELECT id, username, name, email, email_verified_at IS NOT NULL AS email_verified, role,
       created_at, disabled_at IS NOT NULL AS disabled, last_login_at
  FROM users WHERE id = $1
"""


async def get_account(*, pool: Pool, user: Principal) -> Account:
    row = await pool.fetchrow(ACCOUNT_SQL, user.user_id)
    if row is None:
        raise InvalidToken  # the session outlived its account
    return Account.model_validate(dict(row))


CREDENTIALS_OF_SQL = "SELECT username, password_hash FROM users WHERE id = $1"
# The new hash, no pending reset mail left to send, and the notice, in one statement.
STORE_HASH_SQL = """
WITH u AS (
    UPDATE users
       SET password_hash = $2,
           email_verified_at = CASE WHEN $3 THEN coalesce(email_verified_at, now())
                                    ELSE email_verified_at END
     WHERE id = $1 AND disabled_at IS NULL
 RETURNING id, username, email
), pending AS (
    DELETE FROM mail_outbox
     WHERE user_id = $1 AND template = 'password_reset' AND sent_at IS NULL
), notice AS (
    INSERT INTO mail_outbox (template, user_id, recipient, params)
    SELECT 'password_changed', id, email, jsonb_build_object('username', username)
      FROM u WHERE email IS NOT NULL
)
SELECT id FROM u
"""


async def _check_password(
    *, pool: Pool, hasher: PasswordHasherService, state: AccountsState, user_id: int, password: str
) -> str:
    """The account's username once `password` is its password (counted like a login)."""
    await state.limits.count(PASSWORD_CHECKS_PER_ACCOUNT, user_id)
    row = await pool.fetchrow(CREDENTIALS_OF_SQL, user_id)
    if row is None:
        raise InvalidToken
    if not await hasher.verify(row["password_hash"], password):
        raise WrongPassword
    await state.limits.reset(PASSWORD_CHECKS_PER_ACCOUNT, user_id)
    username: str = row["username"]
    return username


async def change_password(
    *,
    pool: Pool,
    hasher: PasswordHasherService,
    sessions: SessionStore,
    state: AccountsState,
    user: Principal,
    current_password: str,
    new_password: str,
) -> None:
    username = await _check_password(
        pool=pool, hasher=hasher, state=state, user_id=user.user_id, password=current_password
    )
    _refuse_weak(state, new_password, username=username, field="new_password")
    new_hash = await hasher.hash(new_password)
    if await pool.fetchval(STORE_HASH_SQL, user.user_id, new_hash, False) is None:
        raise InvalidToken
    await state.tokens.revoke(TokenKind.PASSWORD_RESET, user.user_id)
    await sessions.revoke_all(user.user_id, keep=user.token)


# The same statement whether or not the address has an account: it queues 0 or 1 mail.
REQUEST_RESET_SQL = """
INSERT INTO mail_outbox (template, user_id, recipient, params)
SELECT 'password_reset', id, email, jsonb_build_object('username', username)
  FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL
"""


async def request_password_reset(*, pool: Pool, state: AccountsState, email: str) -> None:
    await state.limits.count(RESET_REQUESTS_PER_EMAIL, email)
    await pool.execute(REQUEST_RESET_SQL, email)


USERNAME_OF_SQL = "SELECT username FROM users WHERE id = $1 AND disabled_at IS NULL"


async def reset_password(
    *,
    pool: Pool,
    hasher: PasswordHasherService,
    sessions: SessionStore,
    state: AccountsState,
    token: str,
    new_password: str,
) -> None:
    parsed = await _token_of(state, token)
    username = await pool.fetchval(USERNAME_OF_SQL, parsed.user_id)
    if username is None:
        raise InvalidAccountToken
    # Before the token is used up: a refused password leaves it valid for another try.
    _refuse_weak(state, new_password, username=username, field="new_password")
    if not await state.tokens.consume(TokenKind.PASSWORD_RESET, parsed):
        raise InvalidAccountToken
    new_hash = await hasher.hash(new_password)
    # The mailed token proves the address too.
    if await pool.fetchval(STORE_HASH_SQL, parsed.user_id, new_hash, True) is None:
        raise InvalidAccountToken
    await sessions.revoke_all(parsed.user_id)


# The users_deleted trigger adds the revocation row (and account.deleted, with domain events).
DELETE_SQL = "DELETE FROM users WHERE id = $1 RETURNING id"
DELETE_BY_NAME_SQL = "DELETE FROM users WHERE lower(username) = lower($1) RETURNING id"


async def delete_account(
    *,
    pool: Pool,
    hasher: PasswordHasherService,
    state: AccountsState,
    user: Principal,
    password: str,
) -> None:
    await _check_password(
        pool=pool, hasher=hasher, state=state, user_id=user.user_id, password=password
    )
    if await pool.fetchval(DELETE_SQL, user.user_id) is None:
        raise InvalidToken
    # At once, not when the listener gets to it: the answer means every session is gone.
    await state.cleaner.forget(user.user_id)


async def delete_user_by_name(*, pool: Pool, state: AccountsState, username: str) -> int | None:
    """The operator's deletion (CLI): the account's id, or None when there is none."""
    user_id: int | None = await pool.fetchval(DELETE_BY_NAME_SQL, username)
    if user_id is not None:
        await state.cleaner.forget(user_id)
    return user_id


# Administrators: the newest first would need an index on created_at; ids grow with time.
LIST_ACCOUNTS_SQL = """
SELECT id, username, name, email, email_verified_at IS NOT NULL AS email_verified, role,
       created_at, disabled_at IS NOT NULL AS disabled, last_login_at
  FROM users
 WHERE id > $1
   AND ($2::text IS NULL
        OR strpos(lower(username), lower($2)) > 0
        OR strpos(coalesce(email, ''), lower($2)) > 0)
 ORDER BY id
 LIMIT $3
"""


async def list_accounts(
    *, pool: Pool, query: str | None, after_id: int, limit: int
) -> list[AdminAccount]:
    rows = await pool.fetch(LIST_ACCOUNTS_SQL, after_id, query, limit)
    return [AdminAccount.model_validate(dict(row)) for row in rows]


DISABLE_SQL = """
UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1 RETURNING id
"""
ENABLE_SQL = "UPDATE users SET disabled_at = NULL WHERE id = $1 RETURNING id"


async def set_disabled(*, pool: Pool, state: AccountsState, user_id: int, disabled: bool) -> None:
    """Disabling drops the account's sessions at once (the trigger's listener does it too)."""
    if await pool.fetchval(DISABLE_SQL if disabled else ENABLE_SQL, user_id) is None:
        raise AccountNotFound
    if disabled:
        await state.cleaner.forget(user_id)
