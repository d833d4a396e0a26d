"""The `CurrentUser` dependency: one Redis round trip authenticates and renews the session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.security import OAuth2PasswordBearer

from app.auth.bearer import parse_bearer
from app.auth.sessions import Principal
from app.caching import NO_STORE
from app.dependencies import SessionsDep
from constants import AUTHORIZATION_HEADER, BEARER_SCHEME

# Declares the bearer scheme in OpenAPI so the Authorize button of /docs logs in via /login.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": BEARER_SCHEME, "Cache-Control": NO_STORE}


def unauthorized(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=UNAUTHORIZED_HEADERS)


async def get_current_user(
    request: Request,
    response: Response,
    sessions: SessionsDep,
    _docs: Annotated[str | None, Security(oauth2_scheme)],
) -> Principal:
    token = parse_bearer(request.headers.get(AUTHORIZATION_HEADER))
    if token is None:
        raise unauthorized()
    principal = await sessions.authenticate(token)
    if principal is None:
        raise unauthorized("Invalid or expired token")
    response.headers["Cache-Control"] = NO_STORE
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
