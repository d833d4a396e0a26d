"""Only nginx, which knows the shared secret, may call the gateway check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header

from app.gateway.exceptions import GatewayOnly
from app.wiring.dependencies import SettingsDep
from constants import GATEWAY_SECRET_HEADER


async def require_gateway(
    settings: SettingsDep,
    secret: Annotated[str | None, Header(alias=GATEWAY_SECRET_HEADER)] = None,
) -> None:
    """Refuses a direct call before any session work. An empty secret matches nothing (the
    settings refuse one; this holds for settings built without their validation too)."""
    expected = settings.gateway_secret.get_secret_value().encode()
    if not expected or secret is None or not hmac.compare_digest(secret.encode(), expected):
        raise GatewayOnly
