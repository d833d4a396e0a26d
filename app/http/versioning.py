"""API versions side by side. Each version package builds its router with `api_version`;
retiring one is a single argument: `deprecation=Deprecation(...)`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from app.http.route_table import add_routes


@dataclass(frozen=True, slots=True)
class Deprecation:
    """RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and a `Link` to the successor version."""

    since: datetime
    sunset: datetime
    successor: str  # e.g. "v2"

    def headers_for(self, path: str, version: str) -> dict[str, str]:
        successor_path = path.replace(f"/{version}", f"/{self.successor}", 1)
        return {
            "Deprecation": f"@{int(self.since.astimezone(UTC).timestamp())}",
            "Sunset": format_datetime(self.sunset.astimezone(UTC), usegmt=True),
            "Link": f'<{successor_path}>; rel="successor-version"',
        }


def api_version(
    version: str, *routers: APIRouter, deprecation: Deprecation | None = None
) -> APIRouter:
    combined = APIRouter(
        prefix=f"/{version}",
        tags=[version],
        deprecated=True if deprecation is not None else None,
        route_class=APIRoute if deprecation is None else _marking_route(deprecation, version),
    )
    for router in routers:
        add_routes(combined, router)  # one flat list: see app/http/route_table.py
    return combined


def _marking_route(deprecation: Deprecation, version: str) -> type[APIRoute]:
    """Routes that add the deprecation headers to whatever their endpoint answers, a `Response`
    it returns itself included (a dependency setting them on the injected `Response` would miss
    those: FastAPI merges its headers only into the responses it builds)."""

    class DeprecatedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def handle_marked(request: Request) -> Response:
                response = await handle(request)
                response.headers.update(deprecation.headers_for(request.url.path, version))
                return response

            return handle_marked

    return DeprecatedRoute
