"""The ASGI application. gunicorn imports `main:app`; tests call `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import health, v1, v2
from app.auth import gateway as auth_gateway
from app.auth import login as auth_login
from app.auth import logout as auth_logout
from app.errors import install_error_handlers
from app.lifespan import build_lifespan
from app.logging_config import configure_logging
from app.request_context import RequestContextMiddleware
from app.settings import Settings, get_settings
from app.user import name_routes as user_names
from constants import AUTHORIZATION_HEADER, REQUEST_ID_HEADER
from version import __version__

# Every router of the service, in one place: a new API version is one more entry. Requests are
# matched against the routers in this order, so the busiest paths come first (py-spy: route
# matching was 13 % of a /v1/hello request behind five routers; docs/benchmark.md).
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
    configure_logging(settings.log_level)
    docs = settings.show_docs
    app = FastAPI(
        title="FastAPI service template",
        version=__version__,
        lifespan=build_lifespan(settings),
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    for router in ROUTERS:
        app.include_router(router)
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[AUTHORIZATION_HEADER, "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[AUTHORIZATION_HEADER, REQUEST_ID_HEADER],
        )
    app.add_middleware(
        RequestContextMiddleware,
        access_log=settings.access_log,
        slow_ms=settings.access_log_slow_ms,
    )
    return app


app = create_app()
