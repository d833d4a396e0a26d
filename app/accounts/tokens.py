"""One-time tokens mailed to prove control of an address: email verification (24 h) and
password reset (30 min).

The token is `<user id>.<secret>`, the secret 32 random bytes (URL-safe base64). Redis keeps
only the secret's SHA-256, one key per account and purpose (`account_token:<kind>:<user id>`):
a newer token replaces the older one, a password change deletes the reset token, and a
token is consumed at most once (a compare-and-delete script). The stored hash is compared
with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum

from constants import ACCOUNT_TOKEN_KEY_PREFIX
from utils.redis.redis import RedisClient
from utils.redis.scripts import LuaScript

SECRET_BYTES = 32
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})$")

# KEYS[1] the token's key; ARGV[1] the hash just compared. Deletes only that token: of two
# concurrent uses, one wins.
CONSUME_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class TokenKind(Enum):
    VERIFY_EMAIL = ("verify", 24 * 3600)
    PASSWORD_RESET = ("reset", 30 * 60)

    def __init__(self, label: str, ttl_seconds: int) -> None:
        self.label = label
        self.ttl_seconds = ttl_seconds


@dataclass(frozen=True, slots=True)
class ParsedToken:
    user_id: int
    secret: str


def parse_token(token: str) -> ParsedToken | None:
    match = _TOKEN.match(token)
    if match is None:
        return None
    return ParsedToken(user_id=int(match.group(1)), secret=match.group(2))


def token_key(kind: TokenKind, user_id: int) -> str:
    return f"{ACCOUNT_TOKEN_KEY_PREFIX}{kind.label}:{user_id}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OneTimeTokens:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._consume = LuaScript(redis, CONSUME_LUA)

    async def issue(self, kind: TokenKind, user_id: int) -> str:
        """A new token for the account; any earlier one of this kind stops working."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        await self._redis.set(token_key(kind, user_id), digest(secret), ex=kind.ttl_seconds)
        return f"{user_id}.{secret}"

    async def consume(self, kind: TokenKind, token: ParsedToken) -> bool:
        """True once for a live token of this kind; it is gone afterwards."""
        key = token_key(kind, token.user_id)
        stored = await self._redis.get(key)
        presented = digest(token.secret)
        if stored is None or not hmac.compare_digest(str(stored), presented):
            return False
        return int(await self._consume(keys=[key], args=[presented])) == 1

    async def revoke(self, kind: TokenKind, user_id: int) -> None:
        await self._redis.delete(token_key(kind, user_id))

    async def revoke_all(self, user_id: int) -> None:
        for kind in TokenKind:
            await self.revoke(kind, user_id)
