"""Metrics (Prometheus), traces (OpenTelemetry), error reports (Sentry): docs/observability.md."""
