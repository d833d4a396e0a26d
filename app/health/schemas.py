"""Bodies of the health endpoints."""

from __future__ import annotations

from pydantic import BaseModel


class Live(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    checks: dict[str, str]
