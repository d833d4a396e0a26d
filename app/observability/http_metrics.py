"""RED metrics for every HTTP request, as a plain ASGI middleware (no per-request task, no
Request object): a few memory writes per request.

`route` is the template of the route that matched (`/v1/users/{user_id}`, never the raw path,
so a scan of random URLs cannot create unbounded series); requests no route matched count as
`route="<unmatched>"`.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client.metrics import MetricWrapperBase
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.metrics import HTTP_DURATION, HTTP_IN_PROGRESS, HTTP_REQUESTS

UNMATCHED = "<unmatched>"


class _Children:
    """`metric.labels(...)` costs a lock and a tuple build; the handful of children a service
    has are looked up once and kept."""

    def __init__(self, metric: MetricWrapperBase) -> None:
        self._metric = metric
        self._known: dict[tuple[str, ...], Any] = {}

    def get(self, *labels: str) -> Any:
        child = self._known.get(labels)
        if child is None:
            child = self._known[labels] = self._metric.labels(*labels)
        return child


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._requests = _Children(HTTP_REQUESTS)
        self._durations = _Children(HTTP_DURATION)
        self._in_progress = _Children(HTTP_IN_PROGRESS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        in_progress = self._in_progress.get(method)
        in_progress.inc()
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            template = route_template(scope)
            self._durations.get(method, template).observe(time.perf_counter() - started)
            self._requests.get(method, template, str(status)).inc()
            in_progress.dec()


def route_template(scope: Scope) -> str:
    """The matched route's full template. FastAPI keeps an included router's routes with their
    own path (`/hello`) and records the full one (`/v1/hello`) in its effective route context;
    Starlette's `scope["route"]` is the fallback."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else UNMATCHED
