"""What the lifespan opens and hands to requests (Starlette lifespan state)."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.login_throttle import LoginThrottle
from app.auth.passwords import PasswordHasherService
from app.auth.sessions import SessionStore
from app.schema import SchemaCheck
from app.settings import Settings
from app.user.profile_cache import ProfileCache
from utils.database.psql import Pool
from utils.redis.redis import RedisClient


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    pool: Pool
    redis: RedisClient
    hasher: PasswordHasherService
    sessions: SessionStore
    profiles: ProfileCache
    throttle: LoginThrottle
    schema: SchemaCheck  # readiness: is the newest migration applied?
