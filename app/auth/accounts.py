"""Creating accounts (CLI, demo seed, tests). Sign-up through the API is app/accounts/."""

from __future__ import annotations

import asyncpg

from app.auth.exceptions import DuplicateUser
from app.auth.passwords import PasswordHasherService
from utils.database.psql import Pool

CREATE_USER_SQL = """
INSERT INTO users (username, password_hash, name, role) VALUES ($1, $2, $3, $4) RETURNING id
"""


async def create_user(
    *,
    pool: Pool,
    hasher: PasswordHasherService,
    username: str,
    password: str,
    name: str = "",
    role: str = "user",
) -> int:
    password_hash = await hasher.hash(password)
    try:
        user_id: int = await pool.fetchval(CREATE_USER_SQL, username, password_hash, name, role)
    except asyncpg.UniqueViolationError:
        raise DuplicateUser(username) from None
    return user_id


async def ensure_user(
    *, pool: Pool, hasher: PasswordHasherService, username: str, password: str, name: str = ""
) -> None:
    """Create the user unless an account of that name (any case) exists."""
    try:
        await create_user(pool=pool, hasher=hasher, username=username, password=password, name=name)
    except DuplicateUser:
        return
