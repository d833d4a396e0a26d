"""The `CurrentUser` dependency: one Redis round trip authenticates and renews the session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Response, Security, status
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from app.auth.bearer import parse_bearer
from app.auth.sessions import Principal
from app.caching import NO_STORE
from app.dependencies import SessionsDep
from constants import AUTHORIZATION_HEADER, BEARER_SCHEME


class SessionBearer(OAuth2PasswordBearer):
    """Reads the session token, once per request, with our parser (a UUID, any scheme case);
    as an OAuth2 scheme it also puts the Authorize button in /docs, logging in via /login."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        return parse_bearer(request.headers.get(AUTHORIZATION_HEADER))


session_bearer = SessionBearer(tokenUrl="login", auto_error=False)

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": BEARER_SCHEME, "Cache-Control": NO_STORE}


def unauthorized(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=UNAUTHORIZED_HEADERS)


async def get_current_user(
    response: Response,
    sessions: SessionsDep,
    token: Annotated[str | None, Security(session_bearer)],
) -> Principal:
    if token is None:
        raise unauthorized()
    principal = await sessions.authenticate(token)
    if principal is None:
        raise unauthorized("Invalid or expired token")
    response.headers["Cache-Control"] = NO_STORE
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
