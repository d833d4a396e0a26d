"""A path that several routes serve (GET and POST on one resource) answers a method none of them
serves with 405 and an `Allow` naming every method of the path, through the app's flat route
table and under an API version."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.http.resource_route import ResourceRoute
from app.http.route_table import add_routes
from app.http.versioning import api_version


def app_with(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(prefix="/things", route_class=route_class)

    @router.post("")
    async def create() -> None: ...

    @router.get("")
    async def list_all() -> None: ...

    @router.get("/{thing_id}")
    async def read(thing_id: int) -> None: ...

    @router.delete("/{thing_id}")
    async def remove(thing_id: int) -> None: ...

    app = FastAPI()
    add_routes(app.router, api_version("v9", router))
    return app


async def request(app: FastAPI, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path)


async def test_a_method_the_path_lacks_is_405_naming_every_method_of_the_path() -> None:
    app = app_with(ResourceRoute)
    for method, path, allow in [
        ("PUT", "/v9/things", "GET, POST"),
        ("OPTIONS", "/v9/things", "GET, POST"),
        ("PATCH", "/v9/things/1", "DELETE, GET"),
    ]:
        response = await request(app, method, path)
        assert (response.status_code, response.headers["allow"]) == (405, allow), method


async def test_the_methods_it_serves_still_reach_their_routes() -> None:
    app = app_with(ResourceRoute)
    assert (await request(app, "GET", "/v9/things")).status_code == 200
    assert (await request(app, "DELETE", "/v9/things/1")).status_code == 200


async def test_without_it_the_answer_names_the_first_route_only() -> None:
    """Why the class exists: Starlette's own answer. When this fails, it is no longer needed."""
    response = await request(app_with(APIRoute), "PUT", "/v9/things")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
