"""v1 test data: the original, flat contract. Kept working while v2 evolves."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.http.cache_control import PUBLIC_SHORT
from app.http.constant_response import ConstantJSON

router = APIRouter()


class HelloV1(BaseModel):
    version: str
    message: str


# The same answer for everyone: serialised once (app/http/constant_response.py).
HELLO = ConstantJSON(
    HelloV1(version="v1", message="Hello, world!"), headers={"Cache-Control": PUBLIC_SHORT}
)


@router.get("/hello", response_model=HelloV1, summary="Test data (v1)")
async def hello() -> Response:
    return HELLO.response()
