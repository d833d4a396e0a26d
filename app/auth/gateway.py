"""GET /auth/verify: nginx's `auth_request` target. Other services behind the gateway get the
caller's identity as headers and never see Redis sessions."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, HTTPException, Response, status

from app.auth.current_user import CurrentUser
from app.dependencies import PoolDep, ProfilesDep, SettingsDep
from app.observability.tracing import trace_headers
from app.responses import AUTH_RESPONSES
from app.user import names
from constants import GATEWAY_SECRET_HEADER, USER_ID_HEADER, USERNAME_HEADER


async def require_gateway(
    settings: SettingsDep,
    secret: Annotated[str | None, Header(alias=GATEWAY_SECRET_HEADER)] = None,
) -> None:
    """Only nginx knows the shared secret; a direct call is refused before any session work."""
    expected = settings.gateway_secret.get_secret_value().encode()
    if secret is None or not hmac.compare_digest(secret.encode(), expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Gateway only")


router = APIRouter(
    prefix="/auth",
    tags=["gateway"],
    include_in_schema=False,
    dependencies=[Depends(require_gateway)],
    responses=AUTH_RESPONSES,
)


@router.get("/verify", status_code=status.HTTP_204_NO_CONTENT)
async def verify(user: CurrentUser, pool: PoolDep, profiles: ProfilesDep) -> Response:
    """204 with the identity headers for a valid token (renewing it), else 401.

    `X-Username` is percent-encoded UTF-8, so any username fits in a header."""
    profile = await names.get_name(pool=pool, profiles=profiles, user=user)
    headers = {USER_ID_HEADER: str(user.user_id), USERNAME_HEADER: quote(profile.username, safe="")}
    # With tracing on, nginx hands this span's traceparent to the service behind the gateway.
    headers.update(trace_headers())
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
