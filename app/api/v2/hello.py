"""v2 test data: an envelope with `data` and `meta`, showing how a contract evolves."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

import version
from app.http.cache_control import PUBLIC_SHORT

router = APIRouter()


class Greeting(BaseModel):
    message: str
    audience: str


class Meta(BaseModel):
    api_version: str
    app_version: str
    server_time: datetime


class HelloV2(BaseModel):
    data: Greeting
    meta: Meta


@router.get("/hello", response_model=HelloV2, summary="Test data (v2)")
async def hello(response: Response) -> HelloV2:
    response.headers["Cache-Control"] = PUBLIC_SHORT
    return HelloV2(
        data=Greeting(message="Hello, world!", audience="everyone"),
        # Read from the module on each request: what version.py says is what clients see.
        meta=Meta(api_version="v2", app_version=version.__version__, server_time=datetime.now(UTC)),
    )
