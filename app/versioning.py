"""API versions side by side. Each version package builds its router with `api_version`;
retiring one is a single argument: `deprecation=Deprecation(...)`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import APIRouter, Depends, Request, Response

from app.route_table import add_routes


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
    dependencies = []
    if deprecation is not None:
        # async: a plain `def` dependency would run in the threadpool on every request.
        async def mark_deprecated(request: Request, response: Response) -> None:
            response.headers.update(deprecation.headers_for(request.url.path, version))

        dependencies.append(Depends(mark_deprecated))
    combined = APIRouter(
        prefix=f"/{version}",
        tags=[version],
        dependencies=dependencies,
        deprecated=True if deprecation is not None else None,
    )
    for router in routers:
        add_routes(combined, router)  # one flat list: see app/route_table.py
    return combined
