"""GET /getName and POST /setName for the authenticated caller (`router`), and
GET /users/search (`search_router`, mounted under the API versions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from app.auth.dependencies import CurrentUser, ProfilesDep
from app.auth.exceptions import AUTH_ERRORS
from app.http.errors import COMMON_ERRORS, documented
from app.http.json_body import json_body, json_body_openapi
from app.http.private_json import private_json
from app.http.rate_limit import TooManyRequests
from app.user import service
from app.user.dependencies import CurrentProfile, SearchLimitDep
from app.user.exceptions import SearchTooBroad
from app.user.schemas import SearchText, SetNameRequest, UserMatch, UserName
from app.wiring.dependencies import PoolDep, SettingsDep

router = APIRouter(tags=["user"], responses=documented(*COMMON_ERRORS, *AUTH_ERRORS))


@router.get("/getName", response_model=UserName)
async def get_name(profile: CurrentProfile) -> Response:
    return private_json({"username": profile.username, "name": profile.name})


# The token is checked before the body is read: `user` comes before `body` (app/http/json_body.py).
@router.post("/setName", response_model=UserName, openapi_extra=json_body_openapi(SetNameRequest))
async def set_name(
    user: CurrentUser,
    body: Annotated[SetNameRequest, Depends(json_body(SetNameRequest))],
    pool: PoolDep,
    profiles: ProfilesDep,
) -> UserName:
    return await service.set_name(pool=pool, profiles=profiles, user=user, name=body.name)


search_router = APIRouter(
    prefix="/users",
    tags=["user"],
    responses=documented(*COMMON_ERRORS, *AUTH_ERRORS, SearchTooBroad, TooManyRequests),
)


@search_router.get("/search", response_model=list[UserMatch])
async def search(
    user: CurrentUser,
    pool: PoolDep,
    settings: SettingsDep,
    search_limit: SearchLimitDep,
    q: Annotated[SearchText, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[UserMatch]:
    await search_limit.hit(user.user_id)
    timeout_ms = settings.search_statement_timeout_ms
    return await service.search_users(pool=pool, query=q, limit=limit, timeout_ms=timeout_ms)
