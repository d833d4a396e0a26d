"""In-process observability contract: the unhandled-error log line, /metrics on and off, and
Sentry reports without credentials (kept by a local transport: nothing leaves the process)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import sentry_sdk
from opentelemetry import trace
from redis.asyncio import Redis
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from app.observability.error_reporting import setup_error_reporting
from main import create_app
from tests.conftest import http_client, make_settings, running
from tests.http.test_security import PASSWORD, captured_logs, create_and_login
from tests.services import TestDatabase, TestRedis, database_where_renames_run
from version import __version__

FAILING_RENAME = "RAISE EXCEPTION 'boom';"


async def test_unhandled_error_is_logged_once_with_its_request_id(redis_db: TestRedis) -> None:
    """The app answers the 500 itself (nothing reaches the server to log a second time)."""
    async with (
        database_where_renames_run(FAILING_RENAME) as db,
        running(make_settings(db, redis_db)) as app,
        http_client(app) as client,  # re-raises any exception that escapes the app
    ):
        auth = await create_and_login(app, client, "error_log_user", PASSWORD)
        with captured_logs() as buffer:
            response = await client.post(
                "/setName", json={"name": "x"}, headers={**auth, "X-Request-ID": "err-42"}
            )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["x-request-id"] == "err-42"
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    with_traceback = [line for line in lines if "traceback" in line]
    assert len(with_traceback) == 1
    assert with_traceback[0]["request_id"] == "err-42"
    assert with_traceback[0]["message"] == "unhandled error"


async def test_metrics_endpoint_serves_the_exposition_format(client: httpx.AsyncClient) -> None:
    await client.get("/v1/hello")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/v1/hello",status="200"}' in response.text


async def test_metrics_disabled_means_no_endpoint(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    settings = make_settings(database, redis_db, metrics_enabled=False)
    app = create_app(settings)
    assert "HttpMetricsMiddleware" not in {m.cls.__name__ for m in app.user_middleware}  # type: ignore[attr-defined]
    async with running(settings) as started, http_client(started) as client:
        assert (await client.get("/metrics")).status_code == 404


class KeptEvents(Transport):
    """A Sentry transport that keeps events in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


async def test_error_report_has_request_id_and_release_but_no_credentials(
    redis_db: TestRedis,
) -> None:
    kept = KeptEvents()
    async with database_where_renames_run(FAILING_RENAME) as db:
        settings = make_settings(db, redis_db, sentry_dsn="https://key@sentry.invalid/1")
        try:
            async with running(settings) as app, http_client(app) as client:
                setup_error_reporting(settings, transport=kept)  # no network: kept in memory
                auth = await create_and_login(app, client, "sentry_user", PASSWORD)
                response = await client.post(
                    "/setName",
                    json={"name": PASSWORD},
                    headers={**auth, "X-Request-ID": "sentry-7", "Cookie": "sid=cookie-secret"},
                )
        finally:
            sentry_sdk.get_client().close()
            sentry_sdk.init()  # no DSN: reporting off again for the other tests
    assert response.status_code == 500
    assert kept.events, "no event was reported"
    event = kept.events[0]
    assert event["release"] == __version__
    assert event["tags"]["request_id"] == "sentry-7"
    text = json.dumps(kept.events, default=str)
    token = auth["Authorization"].split()[1]
    for secret in (token, PASSWORD, "cookie-secret"):
        assert secret not in text


async def test_tracing_off_by_default_leaves_the_request_path_alone(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    settings = make_settings(database, redis_db)
    assert not settings.tracing_enabled
    app = create_app(settings)
    assert app._telemetry["tracing"] is False  # FastAPI makes no spans
    # asyncpg and redis are not patched by the OpenTelemetry instrumentations
    assert not hasattr(asyncpg.Connection.execute, "__wrapped__")
    assert not hasattr(Redis.execute_command, "__wrapped__")
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
