"""GET /v1/users/search: users whose name or username is similar to `q`, best first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.current_user import CurrentUser
from app.dependencies import PoolDep
from app.responses import AUTH_RESPONSES
from app.user.schemas import SearchText, UserMatch
from app.user.search import search_users

router = APIRouter(prefix="/users", tags=["user"], responses=AUTH_RESPONSES)


@router.get("/search", response_model=list[UserMatch])
async def search(
    user: CurrentUser,
    pool: PoolDep,
    q: Annotated[SearchText, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[UserMatch]:
    return await search_users(pool=pool, query=q, limit=limit)
