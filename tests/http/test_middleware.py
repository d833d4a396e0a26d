"""The middlewares are one ordered list (app/http/middleware.py), outermost first, and CORS
allows exactly the methods the app's routes answer."""

from __future__ import annotations

from typing import cast

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.api import ROUTERS
from app.core.settings import Settings
from app.http.body_deadline import BodyDeadlineMiddleware
from app.http.errors import UnhandledErrorMiddleware
from app.http.in_flight import InFlightLimitMiddleware
from app.http.middleware import middleware_stack
from app.http.request_context import RequestContextMiddleware
from app.observability.http_metrics import HttpMetricsMiddleware
from main import create_app, route_methods


def classes(stack: list[Middleware]) -> list[object]:
    return [cast(object, middleware.cls) for middleware in stack]


def test_the_app_runs_exactly_the_declared_list_in_its_order(settings: Settings) -> None:
    with_cors = settings.model_copy(update={"cors_origins": ["https://app.example"]})
    app = create_app(with_cors)
    assert classes(app.user_middleware) == [
        HttpMetricsMiddleware,
        RequestContextMiddleware,
        InFlightLimitMiddleware,
        UnhandledErrorMiddleware,
        BodyDeadlineMiddleware,
        CORSMiddleware,
    ]


def test_without_metrics_or_origins_their_middlewares_are_left_out(settings: Settings) -> None:
    bare = settings.model_copy(update={"metrics_enabled": False, "cors_origins": []})
    present = classes(middleware_stack(bare, cors_methods=[], on_request_id=None))
    assert HttpMetricsMiddleware not in present
    assert CORSMiddleware not in present


def test_cors_allows_every_method_of_the_routes_and_no_other(settings: Settings) -> None:
    with_cors = settings.model_copy(update={"cors_origins": ["https://app.example"]})
    app = create_app(with_cors)
    (cors,) = [m for m in app.user_middleware if cast(object, m.cls) is CORSMiddleware]
    allowed = cast(list[str], cors.kwargs["allow_methods"])
    assert sorted(allowed) == route_methods(ROUTERS)
    assert "GET" in allowed
    assert "POST" in allowed
