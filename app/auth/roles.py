"""Roles: `require_role("admin")` lets only callers of that role through (403 otherwise).

The role comes from the session's cached profile (the same Redis round trip that
authenticates); when the cache lacks it, one query reads the row. A role changed in the
database drops the cached profile (the `users_access_changed` trigger, app/accounts/), and a
disabled or deleted account has no session left to ask with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.auth.dependencies import CurrentUser
from app.auth.exceptions import Forbidden, InvalidToken
from app.auth.sessions import Principal
from app.wiring.dependencies import PoolDep

ROLES = ("user", "admin")  # the users_role_known check of init.sql
ROLE_SQL = "SELECT role FROM users WHERE id = $1 AND disabled_at IS NULL"


def require_role(*allowed: str) -> Callable[..., Awaitable[Principal]]:
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {sorted(unknown)}")

    async def check_role(user: CurrentUser, pool: PoolDep) -> Principal:
        role = user.role
        if role is None:
            role = await pool.fetchval(ROLE_SQL, user.user_id)
            if role is None:
                raise InvalidToken  # the account is gone or disabled
        if role not in allowed:
            raise Forbidden
        return user

    return check_role
