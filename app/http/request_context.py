"""Request id and access log as a plain ASGI middleware (no per-request task like
BaseHTTPMiddleware). nginx sends `X-Request-ID`; the app adopts it, or makes one, returns it,
and stamps every log line of the request with it.

The access line is written for every request when `access_log` is on; otherwise only for server
errors (5xx, at WARNING) and requests slower than `slow_ms` (at WARNING): nginx's access log
already has every request with its id and upstream time."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.request_id import request_id_var
from constants import REQUEST_ID_HEADER

access_logger = logging.getLogger("app.access")

_HEADER = REQUEST_ID_HEADER.lower().encode()
_VALID_ID = re.compile(rb"^[A-Za-z0-9._-]{1,128}$")


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool,
        slow_ms: float = 0.0,
        on_request_id: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.slow_s = slow_ms / 1000 if slow_ms > 0 else float("inf")
        # e.g. tracing: record the id on the request's span (None when tracing is off)
        self.on_request_id = on_request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # 128 random bits as 32 hex digits, like nginx's $request_id, cheaper than uuid4
        request_id = _incoming_id(scope) or os.urandom(16).hex()
        token = request_id_var.set(request_id)
        if self.on_request_id is not None:
            self.on_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            notable = status >= 500 or elapsed >= self.slow_s
            if self.access_log or notable:
                access_logger.log(
                    logging.WARNING if notable else logging.INFO,
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "method": scope["method"],
                        "path": scope["path"],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value.decode("ascii") if _VALID_ID.match(value) else None
    return None
