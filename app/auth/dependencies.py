"""The auth feature's typed dependencies: `CurrentUser` (one Redis round trip authenticates and
renews the session) and the aliases of its state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from app.auth.bearer import parse_bearer
from app.auth.exceptions import InvalidToken, Unauthorized
from app.auth.lifespan import COMPONENT, AuthState
from app.auth.passwords import PasswordHasherService
from app.auth.profile_cache import ProfileCache
from app.auth.sessions import Principal, SessionStore
from app.auth.throttle import LoginThrottle
from app.http.cache_control import NO_STORE
from app.wiring.dependencies import state_of
from constants import AUTHORIZATION_HEADER


def auth_state(request: Request) -> AuthState:
    return state_of(request, COMPONENT.name, AuthState)


# Each getter reads the request itself: no extra level for FastAPI's resolver.
async def get_sessions(request: Request) -> SessionStore:
    return auth_state(request).sessions


async def get_hasher(request: Request) -> PasswordHasherService:
    return auth_state(request).hasher


async def get_profiles(request: Request) -> ProfileCache:
    return auth_state(request).profiles


async def get_throttle(request: Request) -> LoginThrottle:
    return auth_state(request).throttle


SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
HasherDep = Annotated[PasswordHasherService, Depends(get_hasher)]
ProfilesDep = Annotated[ProfileCache, Depends(get_profiles)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]


class SessionBearer(OAuth2PasswordBearer):
    """Reads the session token, once per request, with our parser (a UUID, any scheme case);
    as an OAuth2 scheme it also puts the Authorize button in /docs, logging in via /login."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        return parse_bearer(request.headers.get(AUTHORIZATION_HEADER))


session_bearer = SessionBearer(tokenUrl="login", auto_error=False)


async def get_current_user(
    response: Response,
    sessions: SessionsDep,
    token: Annotated[str | None, Security(session_bearer)],
) -> Principal:
    if token is None:
        raise Unauthorized
    principal = await sessions.authenticate(token)
    if principal is None:
        raise InvalidToken
    response.headers["Cache-Control"] = NO_STORE
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_auth_state(request: Request) -> AuthState:
    return auth_state(request)


AuthStateDep = Annotated[AuthState, Depends(get_auth_state)]
