"""A bound on the requests one worker handles at once (plain ASGI middleware).

Beyond `MAX_REQUESTS_IN_FLIGHT` a worker answers at once with a JSON 503 and `Retry-After`
instead of queueing: a request queued behind hundreds of others would wait past nginx's
timeouts and come back as nginx's 504 after the work was done anyway (docs/benchmark.md).
uvicorn's own `limit_concurrency` counts connections, not requests (nginx keeps idle ones
open), and answers plain text without `Retry-After`.
Health checks and the metrics scrape are never refused: an overloaded worker is still alive.

A request holds its slot while it works, not while it waits for its body: waiting in
`receive` for the next part of the body it gives the slot back, and it takes one again when
that part has come. Once the whole body is there it is shed like a new request (the same 503)
if the worker filled up meanwhile. So clients that send a body slowly (or never) cannot take
the slots that admitted work needs: a waiting body costs a coroutine and a buffer, no CPU and
no PostgreSQL or Redis connection, and the body deadline (app/http/body_deadline.py) and
nginx's per-address connection limit bound how many wait. A separate, smaller bound for
bodies still arriving would be a pool of its own that slow clients fill, and every correct
login (a body too) would then be shed with them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.cache_control import NO_STORE_HEADERS
from app.http.errors import WorkerBusy, WorkerBusyOnceBodyArrived

EXEMPT_PREFIXES = ("/health/", "/metrics")

_SHED_BODY = WorkerBusy().response().body


class InFlightLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit  # 0: no bound
        self.in_flight = 0  # this worker's: one event loop, no lock needed
        body = bytes(_SHED_BODY)
        self._shed_headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"1"),
            *((name.lower().encode(), value.encode()) for name, value in NO_STORE_HEADERS.items()),
        ]
        self._shed_body: Message = {"type": "http.response.body", "body": body}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit and not scope["path"].startswith(EXEMPT_PREFIXES):
            # fresh messages: the middlewares outside add headers to the ones they are given
            headers = list(self._shed_headers)
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send(dict(self._shed_body))
            return
        self.in_flight += 1
        body_done = False

        async def receive_without_the_slot() -> Message:
            nonlocal body_done
            if body_done:  # e.g. waiting for a disconnect while answering: still at work
                return await receive()
            self.in_flight -= 1
            try:
                message = await receive()
            finally:
                self.in_flight += 1
            if message["type"] != "http.request":  # the client left: ClientDisconnect follows
                body_done = True
            elif not message.get("more_body", False):
                body_done = True
                if self.in_flight > self.limit:
                    raise WorkerBusyOnceBodyArrived
            return message

        try:
            await self.app(scope, receive_without_the_slot, send)
        finally:
            self.in_flight -= 1
