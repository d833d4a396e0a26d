"""The ASGI application. gunicorn imports `main:app`; tests call `create_app(settings)`."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.accounts.lifespan import COMPONENT as ACCOUNTS
from app.accounts.lifespan import MAIL_COMPONENT as MAIL_SENDER
from app.api import ROUTERS
from app.auth.lifespan import COMPONENT as AUTH
from app.core.logging_config import configure_logging
from app.core.settings import Settings, get_settings
from app.events.lifespan import COMPONENT as OUTBOX_RELAY  # part:events
from app.health.lifespan import COMPONENT as HEALTH
from app.http.errors import install_error_handlers
from app.http.middleware import middleware_stack
from app.http.route_table import add_routes
from app.observability import metrics_route
from app.observability.error_reporting import setup_error_reporting
from app.observability.tracing import (
    TraceIdLogFilter,
    native_telemetry,
    record_request_id,
    setup_tracing,
)
from app.user.lifespan import COMPONENT as USER
from app.wiring.lifespan import build_lifespan
from version import __version__

# What the features keep for the app's life, opened in this order and closed in reverse.
COMPONENTS = (
    HEALTH,
    AUTH,
    USER,
    ACCOUNTS,
    OUTBOX_RELAY,  # part:events
    MAIL_SENDER,
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
        title=settings.service_name,
        version=__version__,
        lifespan=build_lifespan(settings, COMPONENTS),
        middleware=middleware_stack(
            settings,
            cors_methods=route_methods(ROUTERS),
            on_request_id=record_request_id if tracing else None,
        ),
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        telemetry=native_telemetry(settings),
        # Starlette's slash redirect names the client's Host (`Location: http://<Host>/path`):
        # no route ends in a slash, so such a path is a JSON 404 instead.
        redirect_slashes=False,
    )
    for router in ROUTERS:
        add_routes(app.router, router)
    if settings.metrics_enabled:
        add_routes(app.router, metrics_route.router)
    # FastAPI put /openapi.json and /docs first; every API request would try them before its own.
    app.router.routes.sort(key=lambda route: not isinstance(route, APIRoute))
    install_error_handlers(app)
    return app


def route_methods(routers: Iterable[APIRouter]) -> list[str]:
    """Every method some route answers: CORS allows these, and no others."""
    routes = [route for router in routers for route in router.routes]
    methods = {m for route in routes if isinstance(route, APIRoute) for m in route.methods or ()}
    return sorted(methods - {"HEAD"})


app = create_app()
