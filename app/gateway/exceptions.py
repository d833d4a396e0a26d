"""What the gateway check refuses a request with."""

from __future__ import annotations

from app.http.errors import AppError


class GatewayOnly(AppError):
    status_code = 403
    default_detail = "Gateway only"
    description = "Called without nginx's shared gateway secret"
