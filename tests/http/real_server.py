"""The app behind a real uvicorn server on a free loopback port, inside the test's event loop:
what a gunicorn worker runs (uvicorn's HTTP parser, its `receive` and disconnect handling),
without a process to start. Requests are written to a socket as they are (tests/e2e/raw.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn

from app.core.settings import Settings
from main import create_app
from tools.devstack.processes import free_port


@dataclass(frozen=True)
class Served:
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Served]:
    """uvicorn with the app's lifespan; its loggers propagate to the app's handlers."""
    host, port = "127.0.0.1", free_port()
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises why it stopped
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        yield Served(host, port)
    finally:
        server.should_exit = True
        await serving
