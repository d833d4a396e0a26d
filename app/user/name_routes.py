"""GET /getName and POST /setName for the authenticated caller."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.current_user import CurrentUser
from app.dependencies import PoolDep, ProfilesDep
from app.responses import AUTH_RESPONSES
from app.user import names
from app.user.schemas import SetNameRequest, UserName

router = APIRouter(tags=["user"], responses=AUTH_RESPONSES)


@router.get("/getName", response_model=UserName)
async def get_name(user: CurrentUser, pool: PoolDep, profiles: ProfilesDep) -> UserName:
    return await names.get_name(pool=pool, profiles=profiles, user=user)


@router.post("/setName", response_model=UserName)
async def set_name(
    body: SetNameRequest, user: CurrentUser, pool: PoolDep, profiles: ProfilesDep
) -> UserName:
    return await names.set_name(pool=pool, profiles=profiles, user=user, name=body.name)
