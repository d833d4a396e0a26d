"""The user feature's typed dependency: the per-account search limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.http.rate_limit import RateLimit
from app.user.lifespan import COMPONENT
from app.wiring.dependencies import state_of


async def get_search_limit(request: Request) -> RateLimit:
    return state_of(request, COMPONENT.name, RateLimit)


SearchLimitDep = Annotated[RateLimit, Depends(get_search_limit)]
