"""Per-account and per-address limits on the accounts endpoints (Redis fixed windows,
utils/redis/windows.py, as the login throttle and the search limit): each attempt is counted
before any work, and the one over the limit is refused with 429 and Retry-After. Per client
address, nginx limits the same paths (docs/security.md).

Keys name the account id or the normalised address, never what tells whether an account
exists: a reset request for an unknown address is counted like one for a known address.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.exceptions import AccountActionThrottled
from constants import ACCOUNT_LIMIT_KEY_PREFIX
from utils.redis.redis import RedisClient
from utils.redis.windows import WindowCounter

HOUR = 3600


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int


# Attempts per window and subject.
SIGNUP_PER_EMAIL = Limit("signup", attempts=5, window_seconds=HOUR)
RESET_REQUESTS_PER_EMAIL = Limit("reset-request", attempts=5, window_seconds=HOUR)
# Verification and reset tokens per account: each carries its account id.
TOKEN_USES_PER_ACCOUNT = Limit("token", attempts=10, window_seconds=HOUR)
VERIFICATION_MAILS_PER_ACCOUNT = Limit("verification-mail", attempts=3, window_seconds=HOUR)
# The current password asked again (password change, account deletion): like login.
PASSWORD_CHECKS_PER_ACCOUNT = Limit("password-check", attempts=5, window_seconds=15 * 60)

LIMITS = (
    SIGNUP_PER_EMAIL,
    RESET_REQUESTS_PER_EMAIL,
    TOKEN_USES_PER_ACCOUNT,
    VERIFICATION_MAILS_PER_ACCOUNT,
    PASSWORD_CHECKS_PER_ACCOUNT,
)


def limit_key(limit: Limit, subject: str | int) -> str:
    return f"{ACCOUNT_LIMIT_KEY_PREFIX}{limit.name}:{subject}"


class AccountLimits:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._counters = {
            limit.name: WindowCounter(redis, window_seconds=limit.window_seconds)
            for limit in LIMITS
        }

    async def count(self, limit: Limit, subject: str | int) -> None:
        """Count one attempt; raise AccountActionThrottled when over the limit."""
        attempts, left = await self._counters[limit.name].count(limit_key(limit, subject))
        if attempts > limit.attempts:
            raise AccountActionThrottled(left)

    async def reset(self, limit: Limit, subject: str | int) -> None:
        await self._redis.delete(limit_key(limit, subject))
