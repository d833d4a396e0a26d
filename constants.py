"""Fixed names shared by the app, its tests and other services. Not configuration."""

from typing import Final

SESSION_KEY_PREFIX: Final = "session:"
USER_PROFILE_KEY_PREFIX: Final = "user:"
# `{user:<id>}:sessions`: the hash tag keeps the index in the slot of `user:<id>`.
USER_SESSIONS_KEY_SUFFIX: Final = ":sessions"
LOGIN_FAILURES_KEY_PREFIX: Final = "login_failures:"
OUTBOX_PUBLISHED_KEY_PREFIX: Final = "outbox:published:"  # part:events
SEARCH_LIMIT_KEY_PREFIX: Final = "search_limit:"
# `account_token:<kind>:<user id>`: the SHA-256 of the one-time token mailed for that purpose.
ACCOUNT_TOKEN_KEY_PREFIX: Final = "account_token:"  # noqa: S105 (a key prefix)
ACCOUNT_LIMIT_KEY_PREFIX: Final = "account_limit:"

AUTHORIZATION_HEADER: Final = "Authorization"
REQUEST_ID_HEADER: Final = "X-Request-ID"
# >>> part:gateway
GATEWAY_SECRET_HEADER: Final = "X-Gateway-Secret"  # noqa: S105 (a header name)
USER_ID_HEADER: Final = "X-User-Id"
USERNAME_HEADER: Final = "X-Username"
USER_ROLE_HEADER: Final = "X-User-Role"
# <<< part:gateway

BEARER_SCHEME: Final = "Bearer"
