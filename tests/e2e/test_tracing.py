"""Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT at a local receiver): a client's W3C traceparent goes
through nginx and its trace id shows up on the app's, PostgreSQL's and Redis's spans, on the
request's log lines, at the service behind the gateway and in the published event."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis  # part:events

from app.observability.tracing import REQUEST_ID_ATTRIBUTE
from tests.conftest import UserFactory
from tests.e2e.conftest import start_stack
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, receiver: OtlpReceiver) -> Iterator[LocalStack]:
    started = start_stack(
        request,
        "tracing",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="template-under-test",
        OTEL_BSP_SCHEDULE_DELAY="100",  # ms: export within the test's patience
    )
    try:
        yield started
    finally:
        started.stop()


def new_trace() -> tuple[str, dict[str, str]]:
    trace_id = secrets.token_hex(16)
    return trace_id, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


async def spans_of(receiver: OtlpReceiver, trace_id: str, scopes: set[str]) -> list[ReceivedSpan]:
    """Waits until spans of every instrumentation in `scopes` arrived for the trace."""
    for _ in range(100):
        spans = receiver.in_trace(trace_id)
        if scopes <= {span.scope for span in spans}:
            return spans
        await asyncio.sleep(0.1)
    return receiver.in_trace(trace_id)


async def test_client_trace_reaches_app_postgres_and_redis_spans_and_logs(
    stack: LocalStack, receiver: OtlpReceiver, make_user: UserFactory
) -> None:
    user = await make_user()
    trace_id, traceparent = new_trace()
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as client:
        response = await client.post(
            "/login",
            json={"username": user.username, "password": user.password},
            headers={**traceparent, "X-Request-ID": f"trace-{trace_id[:8]}"},
        )
    assert response.status_code == 200, response.text
    scopes = {
        "fastapi",
        "opentelemetry.instrumentation.asyncpg",
        "opentelemetry.instrumentation.redis",
    }
    spans = await spans_of(receiver, trace_id, scopes)
    assert scopes <= {span.scope for span in spans}, spans
    token = response.json()["access_token"]
    attribute_values = " ".join(v for span in spans for v in span.attributes.values())
    assert token not in attribute_values  # redis arguments are recorded as `?`
    assert user.password not in attribute_values
    server = [s for s in spans if s.attributes.get(REQUEST_ID_ATTRIBUTE)]
    assert server
    assert server[0].attributes[REQUEST_ID_ATTRIBUTE] == f"trace-{trace_id[:8]}"

    log_lines = (stack.run_dir / "gunicorn.log").read_text().splitlines()
    traced = [json.loads(line) for line in log_lines if trace_id in line]
    assert any(line.get("logger") == "app.access" for line in traced)
    assert all(line["trace_id"] == trace_id for line in traced)


# >>> part:gateway
async def test_trace_goes_on_to_the_service_behind_the_gateway(
    stack: LocalStack, make_user: UserFactory
) -> None:
    user = await make_user()
    trace_id, traceparent = new_trace()
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as client:
        login = await client.post(
            "/login", json={"username": user.username, "password": user.password}
        )
        auth = {"Authorization": login.headers["Authorization"]}
        response = await client.get("/services/echo/hi", headers={**auth, **traceparent})
    assert response.status_code == 200, response.text
    received = response.json()["traceparent"]
    assert received.split("-")[1] == trace_id
    assert received != traceparent["traceparent"]  # continued from the app's span, not copied


# <<< part:gateway


# >>> part:events
async def test_published_event_carries_the_trace(stack: LocalStack, make_user: UserFactory) -> None:
    user = await make_user()
    trace_id, traceparent = new_trace()
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as client:
        response = await client.post(
            "/login",
            json={"username": user.username, "password": user.password},
            headers=traceparent,
        )
    assert response.status_code == 200
    redis = Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    try:
        for _ in range(100):
            mine = await events_of_trace(redis, trace_id)
            if mine:
                break
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()
    assert mine, "no event with the trace"
    assert mine[0]["event_type"] == "user.logged_in"


# <<< part:events


# >>> part:events
async def events_of_trace(redis: Redis, trace_id: str) -> list[dict[str, str]]:
    """Events carrying the trace, in any stack's stream: stacks on one database share one
    active relay (an advisory lock), which publishes to its own stack's stream."""
    found = []
    async for stream in redis.scan_iter(match="events:*", _type="stream"):
        entries: list[tuple[str, dict[str, str]]] = await redis.xrange(stream)  # type: ignore[assignment]
        found += [f for _, f in entries if f.get("traceparent", "").split("-")[1:2] == [trace_id]]
    return found


# <<< part:events
