"""Every middleware of the app, in one ordered list: the first runs first (outermost)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.core.settings import Settings
from app.http.body_deadline import BodyDeadlineMiddleware
from app.http.errors import UnhandledErrorMiddleware
from app.http.in_flight import InFlightLimitMiddleware
from app.http.request_context import RequestContextMiddleware
from app.observability.http_metrics import HttpMetricsMiddleware
from constants import AUTHORIZATION_HEADER, REQUEST_ID_HEADER


def middleware_stack(
    settings: Settings, *, cors_methods: list[str], on_request_id: Callable[[str], None] | None
) -> list[Middleware]:
    """Outermost first. `cors_methods`: the methods the app's routes answer."""
    stack = []
    if settings.metrics_enabled:
        # Sees every answer: the shed ones and the 500s made inside included.
        stack.append(Middleware(HttpMetricsMiddleware))
    stack += [
        # The request id on every log line and answer below, shed answers included.
        Middleware(
            RequestContextMiddleware,
            access_log=settings.access_log,
            slow_ms=settings.access_log_slow_ms,
            on_request_id=on_request_id,
        ),
        # Sheds before any work is done.
        Middleware(InFlightLimitMiddleware, limit=settings.max_requests_in_flight),
        # A JSON 500 for our own bugs, logged inside the request (with its id).
        Middleware(UnhandledErrorMiddleware),
        # A total deadline for reading a body: nginx only bounds the time between two reads.
        Middleware(BodyDeadlineMiddleware, seconds=settings.body_read_timeout_seconds),
    ]
    if settings.cors_origins:
        # Innermost: a preflight gets the request id, metrics and the in-flight bound too.
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=cors_methods,
                allow_headers=[AUTHORIZATION_HEADER, "Content-Type", REQUEST_ID_HEADER],
                expose_headers=[AUTHORIZATION_HEADER, REQUEST_ID_HEADER],
            )
        )
    return stack
