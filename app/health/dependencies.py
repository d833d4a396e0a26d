"""The health feature's typed dependency: the migration check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.health.lifespan import COMPONENT
from app.health.migration_check import MigrationCheck
from app.wiring.dependencies import state_of


async def get_migration_check(request: Request) -> MigrationCheck:
    return state_of(request, COMPONENT.name, MigrationCheck)


MigrationCheckDep = Annotated[MigrationCheck, Depends(get_migration_check)]
