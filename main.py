"""The ASGI application. gunicorn imports `main:app`; tests call `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app import health, v1, v2
from app.auth import gateway as auth_gateway
from app.auth import login as auth_login
from app.auth import logout as auth_logout
from app.body_deadline import BodyDeadlineMiddleware
from app.errors import UnhandledErrorMiddleware, install_error_handlers
from app.in_flight import InFlightLimitMiddleware
from app.lifespan import build_lifespan
from app.logging_config import configure_logging
from app.observability import metrics_route
from app.observability.error_reporting import setup_error_reporting
from app.observability.http_metrics import HttpMetricsMiddleware
from app.observability.tracing import (
    TraceIdLogFilter,
    native_telemetry,
    record_request_id,
    setup_tracing,
)
from app.request_context import RequestContextMiddleware
from app.route_table import add_routes
from app.settings import Settings, get_settings
from app.user import name_routes as user_names
from constants import AUTHORIZATION_HEADER, REQUEST_ID_HEADER
from version import __version__

# Every router of the service, in one place: a new API version is one more entry. Their routes
# go into the app's one flat table (app/route_table.py), matched in this order, so the busiest
# paths come first (py-spy: route matching was 13 % of a /v1/hello request; docs/benchmark.md).
ROUTERS = (
    user_names.router,
    auth_login.router,
    v1.router,
    v2.router,
    auth_gateway.router,
    auth_logout.router,
    health.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tracing = settings.tracing_enabled
    configure_logging(settings.log_level, extra_filters=(TraceIdLogFilter(),) if tracing else ())
    setup_error_reporting(settings)
    if tracing:
        setup_tracing(settings)
    docs = settings.show_docs
    app = FastAPI(
        title="FastAPI service template",
        version=__version__,
        lifespan=build_lifespan(settings),
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        telemetry=native_telemetry(settings),
    )
    for router in ROUTERS:
        add_routes(app.router, router)
    if settings.metrics_enabled:
        add_routes(app.router, metrics_route.router)
    # FastAPI put /openapi.json and /docs first; every API request would try them before its own.
    app.router.routes.sort(key=lambda route: not isinstance(route, APIRoute))
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[AUTHORIZATION_HEADER, "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[AUTHORIZATION_HEADER, REQUEST_ID_HEADER],
        )
    app.add_middleware(BodyDeadlineMiddleware, seconds=settings.body_read_timeout_seconds)
    # Added last = runs first: metrics see every answer, the 500s made inside included.
    app.add_middleware(UnhandledErrorMiddleware)
    # Sheds before any work, inside the request id and the metrics (they see every 503).
    app.add_middleware(InFlightLimitMiddleware, limit=settings.max_requests_in_flight)
    app.add_middleware(
        RequestContextMiddleware,
        access_log=settings.access_log,
        slow_ms=settings.access_log_slow_ms,
        on_request_id=record_request_id if tracing else None,
    )
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware)
    return app


app = create_app()
