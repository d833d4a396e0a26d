"""The accounts feature's typed dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts.lifespan import COMPONENT, AccountsState
from app.wiring.dependencies import state_of


async def get_accounts(request: Request) -> AccountsState:
    return state_of(request, COMPONENT.name, AccountsState)


AccountsDep = Annotated[AccountsState, Depends(get_accounts)]
