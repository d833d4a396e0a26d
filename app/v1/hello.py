"""v1 test data: the original, flat contract. Kept working while v2 evolves."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.caching import PUBLIC_SHORT

router = APIRouter()


class HelloV1(BaseModel):
    version: str
    message: str


@router.get("/hello", response_model=HelloV1, summary="Test data (v1)")
async def hello(response: Response) -> HelloV1:
    response.headers["Cache-Control"] = PUBLIC_SHORT
    return HelloV1(version="v1", message="Hello, world!")
