"""A total deadline for reading a request body (plain ASGI middleware).

nginx's `client_body_timeout` is the time between two reads, and nginx has no total one: a
client sending one byte every few seconds could keep a request open for hours. nginx streams
bodies to the app (`proxy_request_buffering off`), and this middleware ends the request with a
JSON 408 once its body has taken longer than `BODY_READ_TIMEOUT_SECONDS`. Requests without a
body (GET, HEAD, ...) pass untouched.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooSlow(HTTPException):
    """Raised from `receive`; FastAPI's body parsing passes HTTPExceptions through as they are."""

    def __init__(self) -> None:
        super().__init__(408, "Request body too slow", headers={"Connection": "close"})


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_done = False

        async def receive_by_deadline() -> Message:
            nonlocal body_done
            if body_done:  # e.g. waiting for a disconnect after the body: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_by_deadline, send)
