"""The API as clients see it: every router of the service, in the order requests match them.

Versioned routes live in `v1/` and `v2/` side by side; the unversioned contract (/login,
/getName, ...) comes straight from the features. A new feature's router is one more entry
(in a version package, or here). The routes go into the app's one flat table
(app/http/route_table.py) in this order, so the busiest paths come first.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api import v1, v2
from app.auth import router as auth
from app.gateway import router as gateway  # part:gateway
from app.health import router as health
from app.user import router as user

ROUTERS: tuple[APIRouter, ...] = (
    user.router,
    auth.router,
    v1.router,
    v2.router,
    gateway.router,  # part:gateway
    health.router,
)
