"""Fixed names shared by the app, its tests and other services. Not configuration."""

from typing import Final

SESSION_KEY_PREFIX: Final = "session:"
USER_PROFILE_KEY_PREFIX: Final = "user:"
# `{user:<id>}:sessions`: the hash tag keeps the index in the slot of `user:<id>`.
USER_SESSIONS_KEY_SUFFIX: Final = ":sessions"
LOGIN_FAILURES_KEY_PREFIX: Final = "login_failures:"
OUTBOX_PUBLISHED_KEY_PREFIX: Final = "outbox:published:"
SEARCH_LIMIT_KEY_PREFIX: Final = "search_limit:"

AUTHORIZATION_HEADER: Final = "Authorization"
REQUEST_ID_HEADER: Final = "X-Request-ID"
GATEWAY_SECRET_HEADER: Final = "X-Gateway-Secret"  # noqa: S105 (a header name)
USER_ID_HEADER: Final = "X-User-Id"
USERNAME_HEADER: Final = "X-Username"

BEARER_SCHEME: Final = "Bearer"
