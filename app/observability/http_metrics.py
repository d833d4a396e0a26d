"""RED metrics for every HTTP request, as a plain ASGI middleware (no per-request task, no
Request object).

Under gunicorn every metric write is a locked write into a memory-mapped file (prometheus-
client's multiprocess mode): five of them per request (counter, histogram sum and bucket,
in-progress up and down) are a visible share of a small request (docs/benchmark.md). So a
request only adds to plain per-worker dicts, and `flush()` writes them to the metrics about
once a second (the sampling task), before this worker answers a scrape, and when
the worker stops: one write per series per second. A worker killed with SIGKILL loses at most
its last second of counts; what it had flushed stays.

`route` is the template of the route that matched (`/v1/users/search`, never the raw path, so a
scan of random URLs cannot create unbounded series); unmatched requests count as `<unmatched>`.
"""

from __future__ import annotations

import time
from bisect import bisect_left

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.metrics import (
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    LATENCY_BUCKETS,
)

UNMATCHED = "<unmatched>"


class PendingHttpMetrics:
    """This worker's requests since the last flush (the event loop's thread only)."""

    def __init__(self) -> None:
        self.in_progress = 0
        self.counts: dict[tuple[str, str, int], int] = {}
        # per (method, route): a count per bucket (the last one is +Inf), then the sum
        self.durations: dict[tuple[str, str], list[float]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        histogram = self.durations.get((method, route))
        if histogram is None:
            histogram = self.durations[(method, route)] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        histogram[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram[-1] += seconds

    def flush(self) -> None:
        counts, self.counts = self.counts, {}
        durations, self.durations = self.durations, {}
        for (method, route, status), count in counts.items():
            HTTP_REQUESTS.labels(method, route, str(status)).inc(count)
        for (method, route), histogram in durations.items():
            child = HTTP_DURATION.labels(method, route)
            # prometheus-client has no public call that adds many observations at once; its
            # private per-bucket values (not cumulative) and sum are pinned by
            # tests/observability/test_http_metrics.py.
            for bucket, observed in zip(child._buckets, histogram[:-1], strict=True):
                if observed:
                    bucket.inc(observed)
            child._sum.inc(histogram[-1])
        HTTP_IN_PROGRESS.set(self.in_progress)


PENDING = PendingHttpMetrics()  # one per process, i.e. per gunicorn worker


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        PENDING.in_progress += 1
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            PENDING.in_progress -= 1
            PENDING.record(
                scope["method"], route_template(scope), status, time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """The matched route's full template. FastAPI keeps an included router's routes with their
    own path (`/hello`) and records the full one (`/v1/hello`) in its effective route context;
    Starlette's `scope["route"]` is the fallback."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else UNMATCHED
