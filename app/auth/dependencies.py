"""The auth feature's typed dependencies: `CurrentUser` (one Redis round trip authenticates the
session, renewing it when due) and the aliases of its state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowPassword
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security.base import SecurityBase

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


class BearerScheme(SecurityBase):
    """The session token (a UUID, any scheme case) as an OAuth2 scheme: the Authorize button in
    /docs, logging in via /login. A subclass is one dependency that authenticates the caller
    itself and returns what its routes need, so FastAPI resolves one call instead of a chain
    (docs/benchmark.md, issue 24). A route declares one of them: each authenticates."""

    def __init__(self) -> None:
        self.model = OAuth2Model(
            flows=OAuthFlowsModel(password=OAuthFlowPassword(tokenUrl="login"))
        )
        self.scheme_name = "SessionBearer"  # one scheme in the OpenAPI document, whichever

    async def authenticate(self, request: Request, response: Response) -> Principal:
        token = parse_bearer(request.headers.get(AUTHORIZATION_HEADER))
        if token is None:
            raise Unauthorized
        principal = await auth_state(request).sessions.authenticate(token)
        if principal is None:
            raise InvalidToken
        response.headers["Cache-Control"] = NO_STORE
        return principal


class SessionBearer(BearerScheme):
    """`CurrentUser`: the authenticated caller."""

    async def __call__(self, request: Request, response: Response) -> Principal:
        return await self.authenticate(request, response)


CurrentUser = Annotated[Principal, Security(SessionBearer())]


async def get_auth_state(request: Request) -> AuthState:
    return auth_state(request)


AuthStateDep = Annotated[AuthState, Depends(get_auth_state)]
