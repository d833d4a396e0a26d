"""Error reports to Sentry when SENTRY_DSN is set, with the request id and the release.

Never sent: tokens, passwords, `Authorization` and cookies. `data_collection` keeps the SDK
from attaching bodies, cookies, user data, SQL parameters and local variables (and filters
headers through its denylist); `scrub` below removes
whatever is left (request bodies, any header or variable whose name suggests a secret, bearer
tokens inside messages) before an event leaves the process.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event, Hint

from app.core.logging_config import redact
from app.core.request_id import request_id_var
from app.core.settings import Settings
from version import __version__

SECRET_HINTS = ("authorization", "cookie", "password", "token", "secret", "session", "key")
REDACTED = "[redacted]"


def setup_error_reporting(settings: Settings, *, transport: Transport | None = None) -> None:
    """`transport` replaces the network one (tests keep events in memory)."""
    if settings.sentry_dsn is None:
        return
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=__version__,
        environment=settings.environment,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist"}},
            "http_bodies": [],
            "url_query_params": {"mode": "denylist"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        before_send=scrub,
        # Traces go to OpenTelemetry (OTEL_*), not to Sentry.
        traces_sample_rate=None,
        **options,
    )


def scrub(event: Event, hint: Hint) -> Event:
    event.setdefault("tags", {})["request_id"] = request_id_var.get()
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: REDACTED if _secret(name) else value for name, value in headers.items()
            }
    scrubbed: Event = _redact_strings(event)
    return scrubbed


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(hint in lowered for hint in SECRET_HINTS)


def _redact_strings(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_strings(item) for item in value]
    return value
