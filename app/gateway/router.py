"""GET /auth/verify: nginx's `auth_request` target (204 with identity headers, else 401)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from app.auth.exceptions import AUTH_ERRORS
from app.gateway import service
from app.gateway.dependencies import require_gateway
from app.gateway.exceptions import GatewayOnly
from app.http.errors import COMMON_ERRORS, documented
from app.user.dependencies import CurrentProfile

router = APIRouter(
    prefix="/auth",
    tags=["gateway"],
    include_in_schema=False,
    dependencies=[Depends(require_gateway)],
    responses=documented(*COMMON_ERRORS, *AUTH_ERRORS, GatewayOnly),
)


@router.get("/verify", status_code=status.HTTP_204_NO_CONTENT)
async def verify(profile: CurrentProfile) -> Response:
    """Renews the token like any authenticated request."""
    headers = service.identity_headers(profile)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
