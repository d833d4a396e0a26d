"""The flat route table copies every route option FastAPI has: an upgrade that adds one fails
here instead of dropping it silently."""

from __future__ import annotations

import inspect

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.http.route_table import COPIED_FIELDS, NOT_COPIED, add_routes


def test_every_keyword_of_add_api_route_is_copied_or_named_as_not_copied() -> None:
    keywords = set(inspect.signature(APIRouter.add_api_route).parameters) - {"self"}
    assert keywords == set(COPIED_FIELDS) | set(NOT_COPIED), (
        "FastAPI's add_api_route changed: copy the new keyword in app/http/route_table.py"
    )


def test_every_copied_keyword_is_an_attribute_of_a_route() -> None:
    route = APIRoute("/x", lambda: None)
    missing = [field for field in COPIED_FIELDS if not hasattr(route, field)]
    assert missing == []


async def test_a_copied_route_keeps_its_options_and_gains_the_target_prefix() -> None:
    source = APIRouter()

    @source.post("/things", status_code=201, summary="Make a thing", tags=["things"])
    async def make() -> dict[str, str]:
        return {"made": "yes"}

    target = APIRouter(prefix="/v9")
    add_routes(target, source)
    (route,) = target.routes
    assert isinstance(route, APIRoute)
    assert (route.path, route.status_code, route.summary) == ("/v9/things", 201, "Make a thing")
    app = FastAPI()
    add_routes(app.router, target)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/v9/things")).status_code == 201
