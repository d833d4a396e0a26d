"""How the app assembles the modules' routers: one flat table of routes.

Every module keeps its own `router`; `include_router` would keep each one as a lazily matched
included router that a request walks level by level, with scope bookkeeping at every level
(FastAPI >= 0.160). A `/v1/hello` request passed three such levels; py-spy put route matching
at 13-17 % of its samples against 5 % for a single-router app (docs/benchmark.md, round 2).
`add_routes` copies each route into the target router instead, as `include_router` used to:
the target's prefix, tags, dependencies and `deprecated` apply as before, the OpenAPI document
is the same, and a request matches against one list."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute


def add_routes(target: APIRouter, source: APIRouter) -> None:
    """Every route of `source` on `target` (prefix, tags, dependencies and `deprecated` of
    `target` added); `source` may hold only API routes, which is all the modules define."""
    for route in source.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes can be added to the flat table")
        target.add_api_route(
            route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            # the target's route class (e.g. a deprecated version's) unless the route has its own
            route_class_override=None if type(route) is APIRoute else type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
            form_limits=route.form_limits,
        )
