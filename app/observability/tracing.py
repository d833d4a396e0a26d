"""OpenTelemetry traces, switched on by the standard OTEL_* variables (Settings.tracing_enabled).

When off (the default) nothing here runs on the request path: FastAPI's telemetry is off, asyncpg
and redis are not patched, and the helpers below return at their first line. When on, FastAPI
makes the server span (its native OpenTelemetry support), asyncpg and redis get OpenTelemetry's
instrumentations; a W3C `traceparent` from the client (through nginx) is continued, or a trace
starts here; the span records nginx's request id; the context goes onto every log line of a
sampled request, and where the optional parts are there, into the outbox event
(`current_traceparent`) and the gateway's verify answer (nginx hands it to the service behind).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.telemetry import TelemetryConfig
from opentelemetry import propagate, trace

from app.core.settings import Settings
from version import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler

REQUEST_ID_ATTRIBUTE = "http.request.header.x-request-id"
_state = {"on": False}


def native_telemetry(settings: Settings) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support makes the request's server span: it continues a
    client's traceparent and names the span after the route it selected while routing. (The
    contrib FastAPI instrumentation matched every route a second time per request to name its
    span: a third of its cost in a profile of /v1/hello.) Its HTTP metrics and log records stay
    off: Prometheus and the JSON logs have them. Off entirely when tracing is off."""
    return {
        "tracing": settings.tracing_enabled,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }


def setup_tracing(settings: Settings) -> TracerProvider:
    """The global tracer provider (FastAPI's server spans use it) and the asyncpg and redis
    instrumentations. Call before the app serves requests."""
    # Imported here: with tracing off, the SDK and the instrumentations are never loaded.
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create(
            {SERVICE_NAME: settings.otel_service_name, SERVICE_VERSION: __version__}
        ),
        sampler=_sampler(settings),
    )
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # Process-wide patches: instrumented once, whatever number of apps a process builds.
    for instrumentor in (AsyncPGInstrumentor(), RedisInstrumentor()):  # type: ignore[no-untyped-call]
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    _state["on"] = True
    return provider


def _sampler(settings: Settings) -> Sampler:
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_OFF,
        ALWAYS_ON,
        ParentBased,
        TraceIdRatioBased,
    )

    ratio = TraceIdRatioBased(settings.otel_traces_sampler_arg)
    root: Sampler = {"always_on": ALWAYS_ON, "always_off": ALWAYS_OFF}.get(
        settings.otel_traces_sampler.removeprefix("parentbased_"), ratio
    )
    return ParentBased(root) if settings.otel_traces_sampler.startswith("parentbased_") else root


def _exporter(settings: Settings) -> SpanExporter | None:
    if settings.otel_traces_exporter == "none":  # spans are made (ids in logs) but not sent
        return None
    if settings.otel_traces_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.otel_exporter_otlp_traces_endpoint or (
        f"{settings.otel_exporter_otlp_endpoint.rstrip('/')}/v1/traces"
        if settings.otel_exporter_otlp_endpoint
        else None
    )
    return OTLPSpanExporter(endpoint=endpoint)


def record_request_id(request_id: str) -> None:
    """RequestContextMiddleware's hook: nginx's (or the app's) request id on the server span."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for a message that leaves the process."""
    if not _state["on"]:
        return None
    return trace_headers().get("traceparent")


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span; empty when tracing is off."""
    carrier: dict[str, str] = {}
    if _state["on"]:
        propagate.inject(carrier)
    return carrier


class TraceIdLogFilter(logging.Filter):
    """Puts `trace_id` and `span_id` on log records made inside a sampled span."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid and context.trace_flags.sampled:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True
