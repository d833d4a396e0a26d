"""`scrub`, the last step before an error report leaves the process, on an event built by hand:
every place a token or password can sit in a Sentry event, without the SDK's own filtering."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from sentry_sdk.types import Event

from app.core.request_id import request_id_var
from app.observability.error_reporting import REDACTED, scrub


def event_with_a_token(token: str) -> Event:
    return cast(
        Event,
        {
            "message": f"refused Bearer {token} for user 7",
            "logentry": {"message": "refused %s", "params": [f"Bearer {token}"]},
            "request": {
                "url": "http://testserver/getName",
                "headers": {
                    "Authorization": f"Bearer {token}",
                    "X-Gateway-Secret": "gateway-secret-value",
                    "Cookie": "sid=cookie-secret",
                    "User-Agent": "probe/1.0",
                },
                "cookies": {"sid": "cookie-secret"},
                "data": {"username": "alice", "password": "body-password"},
            },
            "exception": {
                "values": [{"type": "ValueError", "value": f"bad header: bearer {token}"}]
            },
            "breadcrumbs": {"values": [{"message": f"GET /getName Bearer {token}"}]},
        },
    )


def test_scrub_removes_tokens_passwords_and_secret_headers() -> None:
    token = str(uuid.uuid4())
    reset = request_id_var.set("scrub-1")
    try:
        scrubbed = scrub(event_with_a_token(token), {})
    finally:
        request_id_var.reset(reset)
    request: dict[str, Any] = scrubbed["request"]
    headers = request["headers"]
    assert headers["Authorization"] == REDACTED
    assert headers["X-Gateway-Secret"] == REDACTED
    assert headers["Cookie"] == REDACTED
    assert headers["User-Agent"] == "probe/1.0"  # not a secret: kept
    assert "data" not in request
    assert "cookies" not in request
    assert scrubbed["message"] == "refused Bearer [redacted] for user 7"
    assert scrubbed["tags"]["request_id"] == "scrub-1"
    text = json.dumps(scrubbed)
    for secret in (token, token.replace("-", "")[:8], "body-password", "cookie-secret"):
        assert secret not in text
    assert "gateway-secret-value" not in text
