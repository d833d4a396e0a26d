"""The identity headers nginx hands to the service behind the gateway."""

from __future__ import annotations

from urllib.parse import quote

from app.observability.tracing import trace_headers
from app.user.service import Profile
from constants import USER_ID_HEADER, USER_ROLE_HEADER, USERNAME_HEADER


def identity_headers(profile: Profile) -> dict[str, str]:
    """`X-Username` is percent-encoded UTF-8, so any username fits in a header."""
    headers = {
        USER_ID_HEADER: str(profile.user_id),
        USERNAME_HEADER: quote(profile.username, safe=""),
        USER_ROLE_HEADER: profile.role,
    }
    # With tracing on, nginx hands this span's traceparent to the service behind the gateway.
    headers.update(trace_headers())
    return headers
