"""Errors as JSON: one base class a feature subclasses, and the handlers that render every
failure without stack traces, SQL or echoed input.

A feature declares its errors in its own `exceptions.py` (status, detail, headers) and lists
them on its routes with `documented(...)`: the answer and its OpenAPI entry come from the same
declaration. The handlers below that name concrete exceptions are infrastructure only: a
dependency that is down (a fast 503 with `Retry-After`), invalid input, a client that left, and
the last resort for our own bugs (a 500, logged once with its traceback and request id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.outages import POSTGRES_UNAVAILABLE, REDIS_UNAVAILABLE, is_closed_postgres_connection
from app.http.cache_control import NO_STORE_HEADERS
from app.http.error_bodies import ErrorBody, UnavailableBody, ValidationErrorBody, ValidationIssue
from utils.redis.redis import is_write_on_closed_connection

logger = logging.getLogger(__name__)

# An OpenAPI header entry: {"description": ..., "required": ..., "schema": {...}}.
HeaderDoc = dict[str, object]


def header_doc(description: str, *, required: bool, type_: str = "string") -> HeaderDoc:
    return {"description": description, "required": required, "schema": {"type": type_}}


RETRY_AFTER_DOC = header_doc("Seconds", required=True, type_="integer")


class AppError(Exception):
    """A refusal the client should see: raise a subclass that sets the class attributes."""

    status_code: ClassVar[int] = 500
    default_detail: ClassVar[str] = "Internal server error"
    # What the OpenAPI document says of this answer (defaults to the detail).
    description: ClassVar[str] = ""
    model: ClassVar[type[BaseModel]] = ErrorBody
    response_headers: ClassVar[Mapping[str, str]] = {}
    documented_headers: ClassVar[Mapping[str, HeaderDoc]] = {}

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.detail = detail or self.default_detail
        self.headers = {**NO_STORE_HEADERS, **self.response_headers, **(headers or {})}
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail}

    def response(self) -> Response:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


class InvalidRequest(AppError):
    """Raised by FastAPI's validation (RequestValidationError); declared here for the docs."""

    status_code = 422
    default_detail = "Request validation failed"
    description = "Invalid input"
    model = ValidationErrorBody


class ServiceUnavailable(AppError):
    """A dependency (or this worker) cannot take the request now: retry after `retry_after`."""

    status_code = 503
    default_detail = "Service unavailable; retry shortly"
    model = UnavailableBody
    documented_headers: ClassVar[Mapping[str, HeaderDoc]] = {"Retry-After": RETRY_AFTER_DOC}
    dependency: ClassVar[str] = "service"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})

    def body(self) -> dict[str, Any]:
        return UnavailableBody(detail=self.detail, dependency=self.dependency).model_dump()


class PostgresUnavailable(ServiceUnavailable):
    default_detail = "postgres is unavailable; retry shortly"
    description = "PostgreSQL or Redis is unavailable"
    dependency = "postgres"


class RedisUnavailable(ServiceUnavailable):
    default_detail = "redis is unavailable; retry shortly"
    description = "PostgreSQL or Redis is unavailable"
    dependency = "redis"


class WorkerBusy(ServiceUnavailable):
    default_detail = "Too many requests in progress; retry shortly"
    description = "This worker has too many requests in flight"
    dependency = "worker"


class WorkerBusyOnceBodyArrived(StarletteHTTPException):
    """WorkerBusy for a request whose body arrived while the worker filled up
    (app/http/in_flight.py). Raised from `receive`, so an HTTPException: FastAPI's body parsing
    passes those through as they are; the handler answers it as WorkerBusy."""

    def __init__(self) -> None:
        super().__init__(WorkerBusy.status_code, WorkerBusy.default_detail)


class ClientDisconnected(AppError):
    """The client left before its answer (nginx's "client closed request"): nobody reads it."""

    status_code = 499
    default_detail = "Client closed request"

    def response(self) -> Response:
        return Response(status_code=self.status_code)


# Every route that takes input or touches a dependency can answer these.
COMMON_ERRORS: tuple[type[AppError], ...] = (InvalidRequest, PostgresUnavailable, RedisUnavailable)


def documented(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: one entry per status, from the errors' declarations."""
    by_status: dict[int, list[type[AppError]]] = {}
    for error in errors:
        by_status.setdefault(error.status_code, []).append(error)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        descriptions = dict.fromkeys(e.description or e.default_detail for e in group)
        entry: dict[str, Any] = {"model": group[0].model, "description": "; ".join(descriptions)}
        headers: dict[str, HeaderDoc] = {}
        for error in group:
            for name, doc in error.documented_headers.items():
                required = all(name in e.documented_headers for e in group) and bool(
                    doc.get("required")
                )
                headers[name] = {**doc, "required": required}
        if headers:
            entry["headers"] = headers
        responses[status] = entry
    return responses


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return exc.response()


async def _redis_down(request: Request, exc: Exception) -> Response:
    logger.warning("redis unavailable: %s", type(exc).__name__)
    return RedisUnavailable().response()


async def _postgres_down(request: Request, exc: Exception) -> Response:
    logger.warning("postgres unavailable: %s", type(exc).__name__)
    return PostgresUnavailable().response()


async def _postgres_interface_error(request: Request, exc: Exception) -> Response:
    if is_closed_postgres_connection(exc):
        return await _postgres_down(request, exc)
    raise exc  # our misuse of the client (e.g. wrong arguments): a 500 with its traceback


UNPARSABLE_BODY = ValidationIssue(loc=["body"], msg="Body could not be parsed", type="body_invalid")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, WorkerBusyOnceBodyArrived):
        return WorkerBusy().response()
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): the contract says 422.
        body = ValidationErrorBody(detail="Request validation failed", errors=[UNPARSABLE_BODY])
        return JSONResponse(body.model_dump(), status_code=422, headers=NO_STORE_HEADERS)
    headers = {**NO_STORE_HEADERS, **(exc.headers or {})}
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        # Starlette names only the first route of the path; every route of it counts (RFC 9110).
        headers["Allow"] = ", ".join(methods)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app's flat table (app/http/route_table.py) answers at
    the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # The raw input is left out on purpose: it may be a password.
    issues = [
        ValidationIssue(
            loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in exc.errors()
    ]
    body = ValidationErrorBody(detail=InvalidRequest.default_detail, errors=issues)
    return JSONResponse(body.model_dump(), status_code=422, headers=NO_STORE_HEADERS)


async def _client_gone(request: Request, exc: Exception) -> Response:
    return ClientDisconnected().response()


async def _missing_privilege(request: Request, exc: Exception) -> Response:
    # A table the app role was not granted (a migration without its GRANT): the deployment's
    # mistake, not the client's. The log has the traceback; the answer carries no SQL.
    logger.error("database refused the app role; grant it in a migration", exc_info=exc)
    body = {"detail": "Internal server error: the service lacks a database permission"}
    return JSONResponse(body, status_code=500, headers=NO_STORE_HEADERS)


async def _redis_closed_connection_bug(request: Request, exc: Exception) -> Response:
    if is_write_on_closed_connection(exc):  # utils/redis/redis.py: an upstream redis-py bug
        return await _redis_down(request, exc)
    raise exc  # a bug of our own: UnhandledErrorMiddleware logs it once and answers 500


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    for redis_exc in REDIS_UNAVAILABLE:
        app.add_exception_handler(redis_exc, _redis_down)
    for pg_exc in POSTGRES_UNAVAILABLE:
        app.add_exception_handler(pg_exc, _postgres_down)
    app.add_exception_handler(asyncpg.InterfaceError, _postgres_interface_error)
    app.add_exception_handler(asyncpg.InsufficientPrivilegeError, _missing_privilege)
    app.add_exception_handler(AttributeError, _redis_closed_connection_bug)
    app.add_exception_handler(TypeError, _redis_closed_connection_bug)


class UnhandledErrorMiddleware:
    """Answers an unhandled exception with a JSON 500 and logs it once, inside the request (so
    the line carries its request id and, when tracing, its trace id).

    Starlette's own last resort (ServerErrorMiddleware) runs outside every middleware, after the
    request id is gone, and re-raises, so the server logged the traceback a second time
    (`uvicorn.error`). Nothing is re-raised from here: the one log line is the report (Sentry
    takes it from the log record when SENTRY_DSN is set).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            logger.exception("unhandled error")
            if not started:  # else the client sees the connection close mid-answer
                response = AppError().response()
                await response(scope, receive, send)
