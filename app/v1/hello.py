"""v1 test data: the original, flat contract. Kept working while v2 evolves."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.caching import PUBLIC_SHORT

router = APIRouter()


class HelloV1(BaseModel):
    version: str
    message: str


# Constant test data, serialised once: a returned Response skips FastAPI's per-request
# validation and serialisation (docs/benchmark.md, round 2). `response_model` stays the contract.
_BODY: Final = HelloV1(version="v1", message="Hello, world!").model_dump_json().encode()


@router.get("/hello", response_model=HelloV1, summary="Test data (v1)")
async def hello() -> Response:
    return Response(_BODY, media_type="application/json", headers={"Cache-Control": PUBLIC_SHORT})
