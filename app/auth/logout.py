"""POST /logout (this session) and POST /logout/all (every session of the caller)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.current_user import CurrentUser
from app.dependencies import SessionsDep
from app.responses import AUTH_RESPONSES

router = APIRouter(prefix="/logout", tags=["auth"], responses=AUTH_RESPONSES)


@router.post("", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, sessions: SessionsDep) -> Response:
    await sessions.revoke(token=user.token, user_id=user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(user: CurrentUser, sessions: SessionsDep) -> Response:
    await sessions.revoke_all(user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
