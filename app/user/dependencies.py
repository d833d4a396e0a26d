"""The user feature's typed dependencies: the caller's profile and the per-account search
limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security

from app.auth.dependencies import BearerScheme, auth_state
from app.http.rate_limit import RateLimit
from app.user import service
from app.user.lifespan import COMPONENT
from app.user.service import Profile
from app.wiring.dependencies import state_of
from app.wiring.lifespan import CLIENTS, Clients


class ProfileBearer(BearerScheme):
    """`CurrentProfile`: authenticates the caller like `CurrentUser` and returns their profile
    (the session's cached one when warm, else the row, which warms the cache). One dependency
    where a route would otherwise declare `CurrentUser`, `PoolDep` and `ProfilesDep`: each
    dependency is a call FastAPI's resolver makes on every request (docs/benchmark.md)."""

    async def __call__(self, request: Request, response: Response) -> Profile:
        user = await self.authenticate(request, response)
        pool = state_of(request, CLIENTS, Clients).pool
        return await service.get_profile(
            pool=pool, profiles=auth_state(request).profiles, user=user
        )


CurrentProfile = Annotated[Profile, Security(ProfileBearer())]


async def get_search_limit(request: Request) -> RateLimit:
    return state_of(request, COMPONENT.name, RateLimit)


SearchLimitDep = Annotated[RateLimit, Depends(get_search_limit)]
