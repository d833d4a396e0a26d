"""How the app assembles the modules' routers: one flat table of routes.

Every module keeps its own `router`; `include_router` keeps each one as a lazily matched
included router that a request walks level by level (FastAPI >= 0.160), which showed up as a
large share of a small request's time (docs/benchmark.md, "the flat route table"). `add_routes`
copies each route into the target router instead, as `include_router` used to: the target's
prefix, tags, dependencies and `deprecated` apply as before, the OpenAPI document is the same,
and a request matches against one list.

`COPIED_FIELDS` must name every keyword of `APIRouter.add_api_route` that a route carries:
tests/http/test_route_table.py fails when a FastAPI upgrade adds one, so no route option is
dropped silently.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.routing import APIRoute

# Keywords of `add_api_route` that are attributes of the same name on an `APIRoute`.
COPIED_FIELDS: Final = (
    "response_model",
    "status_code",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "methods",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "include_in_schema",
    "response_class",
    "name",
    "callbacks",
    "openapi_extra",
    "generate_unique_id_function",
    "strict_content_type",
    "max_body_size",
    "form_limits",
)
# Keywords that are not copied attribute by attribute, each for its reason.
NOT_COPIED: Final = {
    "path": "passed first",
    "endpoint": "passed second",
    "route_class_override": "the target's route class unless the route has its own",
}


def add_routes(target: APIRouter, source: APIRouter) -> None:
    """Every route of `source` on `target` (prefix, tags, dependencies and `deprecated` of
    `target` added); `source` may hold only API routes, which is all the modules define."""
    for route in source.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes can be added to the flat table")
        target.add_api_route(
            route.path,
            route.endpoint,
            route_class_override=None if type(route) is APIRoute else type(route),
            **{field: getattr(route, field) for field in COPIED_FIELDS},
        )
