"""The identity headers nginx hands to the service behind the gateway."""

from __future__ import annotations

from urllib.parse import quote

from app.auth.profile_cache import ProfileCache
from app.auth.sessions import Principal
from app.observability.tracing import trace_headers
from app.user import service as user_service
from constants import USER_ID_HEADER, USER_ROLE_HEADER, USERNAME_HEADER
from utils.database.psql import Pool


async def identity_headers(
    *, pool: Pool, profiles: ProfileCache, user: Principal
) -> dict[str, str]:
    """`X-Username` is percent-encoded UTF-8, so any username fits in a header."""
    profile = await user_service.get_profile(pool=pool, profiles=profiles, user=user)
    headers = {
        USER_ID_HEADER: str(user.user_id),
        USERNAME_HEADER: quote(profile.username, safe=""),
        USER_ROLE_HEADER: profile.role,
    }
    # With tracing on, nginx hands this span's traceparent to the service behind the gateway.
    headers.update(trace_headers())
    return headers
