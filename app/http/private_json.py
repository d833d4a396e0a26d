"""A JSON answer a handler builds itself from fields it already has, for the caller's own data.

Returning a model makes FastAPI validate it against the route's `response_model` and serialise
it; for fields that are already plain strings (a profile read from the cache) that round trip
is the only work left (docs/benchmark.md, issue 24). The route keeps its `response_model`, so
the OpenAPI contract is unchanged; a test checks the body against it. FastAPI adds no header
a dependency set to a response the handler returns, so this one says `no-store` itself.
"""

from __future__ import annotations

from pydantic_core import to_json
from starlette.responses import Response

from app.http.cache_control import NO_STORE_HEADERS


def private_json(content: dict[str, str]) -> Response:
    return Response(to_json(content), media_type="application/json", headers=NO_STORE_HEADERS)
