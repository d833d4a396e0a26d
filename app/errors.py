"""JSON error bodies for every failure: no stack traces, no SQL, no echoed input.

A dependency that is down becomes a fast 503 with `Retry-After`, never a 500.
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import caching
from app.auth.login_service import InvalidCredentials, LoginThrottled
from app.auth.passwords import HasherBusy, HashingAbandoned
from app.observability.metrics import record_login_shed
from app.responses import UnavailableBody, ValidationErrorBody, ValidationIssue
from app.user.names import UserGone
from constants import BEARER_SCHEME
from utils.redis.redis import CLUSTER_UNAVAILABLE, is_write_on_closed_connection

logger = logging.getLogger(__name__)

POSTGRES_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    *CLUSTER_UNAVAILABLE,  # a Redis Cluster slot without a primary, e.g. during a failover
)
NO_STORE = {"Cache-Control": caching.NO_STORE}


def unavailable(dependency: str) -> JSONResponse:
    body = UnavailableBody(
        detail=f"{dependency} is unavailable; retry shortly", dependency=dependency
    )
    return JSONResponse(
        body.model_dump(), status_code=503, headers={"Retry-After": "1", **NO_STORE}
    )


async def _redis_down(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("redis unavailable: %s", type(exc).__name__)
    return unavailable("redis")


async def _postgres_down(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("postgres unavailable: %s", type(exc).__name__)
    return unavailable("postgres")


UNPARSABLE_BODY = ValidationIssue(loc=["body"], msg="Body could not be parsed", type="body_invalid")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): the contract says 422.
        body = ValidationErrorBody(detail="Request validation failed", errors=[UNPARSABLE_BODY])
        return JSONResponse(body.model_dump(), status_code=422, headers=NO_STORE)
    headers = {**NO_STORE, **(exc.headers or {})}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The raw input is left out on purpose: it may be a password.
    issues = [
        ValidationIssue(
            loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in exc.errors()
    ]
    body = ValidationErrorBody(detail="Request validation failed", errors=issues)
    return JSONResponse(body.model_dump(), status_code=422, headers=NO_STORE)


def _unauthorized(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=401, headers={"WWW-Authenticate": BEARER_SCHEME, **NO_STORE}
    )


async def _invalid_credentials(request: Request, exc: Exception) -> JSONResponse:
    # One body for unknown user and wrong password: nothing tells which one it was.
    return _unauthorized("Invalid username or password")


async def _user_gone(request: Request, exc: Exception) -> JSONResponse:
    return _unauthorized("Invalid or expired token")


async def _login_throttled(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LoginThrottled)
    return JSONResponse(
        {"detail": "Too many failed login attempts; retry later"},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after), **NO_STORE},
    )


async def _hasher_busy(request: Request, exc: Exception) -> JSONResponse:
    # Shed load: the login would have waited longer than LOGIN_MAX_QUEUE_SECONDS for a hash.
    assert isinstance(exc, HasherBusy)
    record_login_shed()
    body = UnavailableBody(
        detail="Too many logins in progress; retry shortly", dependency="password-hasher"
    )
    return JSONResponse(
        body.model_dump(),
        status_code=503,
        headers={"Retry-After": str(exc.retry_after), **NO_STORE},
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # nginx's "client closed request": the client is gone, so nothing reads this answer.
    return Response(status_code=499)


async def _missing_privilege(request: Request, exc: Exception) -> JSONResponse:
    # A table the app role was not granted (a migration without its GRANT): the deployment's
    # mistake, not the client's. The log says what was refused; the answer carries no SQL.
    logger.error("database refused the app role: %s; grant it in a migration", exc)
    body = {"detail": "Internal server error: the service lacks a database permission"}
    return JSONResponse(body, status_code=500, headers=NO_STORE)


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
                response = JSONResponse(
                    {"detail": "Internal server error"}, status_code=500, headers=NO_STORE
                )
                await response(scope, receive, send)


async def _attribute_or_type_error(request: Request, exc: Exception) -> JSONResponse:
    if is_write_on_closed_connection(exc):
        return await _redis_down(request, exc)
    raise exc  # a bug of our own: UnhandledErrorMiddleware logs it once and answers 500


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidCredentials, _invalid_credentials)
    app.add_exception_handler(LoginThrottled, _login_throttled)
    app.add_exception_handler(UserGone, _user_gone)
    app.add_exception_handler(HashingAbandoned, _client_gone)
    app.add_exception_handler(HasherBusy, _hasher_busy)
    for redis_exc in REDIS_UNAVAILABLE:
        app.add_exception_handler(redis_exc, _redis_down)
    for pg_exc in POSTGRES_UNAVAILABLE:
        app.add_exception_handler(pg_exc, _postgres_down)
    app.add_exception_handler(asyncpg.InsufficientPrivilegeError, _missing_privilege)
    app.add_exception_handler(AttributeError, _attribute_or_type_error)
    app.add_exception_handler(TypeError, _attribute_or_type_error)
