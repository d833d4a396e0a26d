"""The naive reference: what a FastAPI service is without this template. One handler returning
a dict, nothing else (no middleware, no lifespan, no settings), served by
`gunicorn -w 2 -k uvicorn_worker.UvicornWorker tools.bench.naive_app:app` on the same locked
library versions. Every ratio of a run is also reported against it."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/hello")
async def hello() -> dict[str, str]:
    return {"version": "v1", "message": "Hello, world!"}
