"""The naive reference: what a FastAPI service is without this template. Two handlers, nothing
else (no middleware, no lifespan, no settings, no metrics), served by
`gunicorn -w 2 -k uvicorn_worker.UvicornWorker tools.bench.naive_app:app` on the same locked
library versions. Every ratio of a run is also reported against it.

`GET /getName` is the naive way to answer it (issue 24): the bearer token's session is one hash,
`naive:session:<token>` with `username` and `name` (seeded by the benchmark for every seeded
session), read with one `HGETALL` through `redis.asyncio` (hiredis parses the answers). No
renewal, no absolute lifetime, no per-user index, no profile cache, no fallback to PostgreSQL.
The Redis URL comes from NAIVE_REDIS_URL (the benchmark's scratch index)."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import cast

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SESSION_PREFIX = "naive:session:"  # seeded by tools/bench/seed.py (NAIVE_SESSION_PREFIX)

app = FastAPI()
# One pool per worker: the module is imported in each worker (no --preload); connections are
# opened on first use, inside the worker's event loop.
client = aioredis.from_url(
    os.environ.get("NAIVE_REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
)


@app.get("/v1/hello")
async def hello() -> dict[str, str]:
    return {"version": "v1", "message": "Hello, world!"}


@app.get("/getName", response_model=None)
async def get_name(request: Request) -> dict[str, str] | JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    pending = client.hgetall(f"{SESSION_PREFIX}{token}")
    session = await cast(Awaitable[dict[str, str]], pending)
    if not session:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    return {"username": session["username"], "name": session["name"]}
