"""Errors tell the truth: only a PostgreSQL or Redis that cannot be reached is 503
"unavailable"; a mistake in our own SQL is a 500, logged once with its traceback and request
id. Every AppError renders its declared status, body and headers, and its OpenAPI entry comes
from the same declaration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI

from app.core.outages import is_closed_postgres_connection
from app.core.settings import Settings
from app.http.errors import AppError, ServiceUnavailable, documented, header_doc
from app.http.route_table import add_routes
from app.wiring.dependencies import PoolDep
from main import create_app
from tests.http.test_security import captured_logs

MISTAKES = APIRouter(prefix="/mistakes")


@MISTAKES.get("/wrong-argument-count")
async def wrong_argument_count(pool: PoolDep) -> int:
    return int(await pool.fetchval("SELECT $1::int"))  # the argument is missing


@MISTAKES.get("/undefined-column")
async def undefined_column(pool: PoolDep) -> int:
    return int(await pool.fetchval("SELECT no_such_column FROM users LIMIT 1"))


@MISTAKES.get("/shared")
async def read_shared() -> int:
    return 1


@MISTAKES.post("/shared")
async def write_shared() -> int:
    return 2


class Teapot(AppError):
    status_code = 418
    default_detail = "I am a teapot"
    response_headers = {"X-Brew": "no"}  # noqa: RUF012 (a test declaration)
    documented_headers = {"X-Brew": header_doc("Why not", required=True)}  # noqa: RUF012


@MISTAKES.get("/teapot", responses=documented(Teapot))
async def teapot() -> None:
    raise Teapot


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    add_routes(app.router, MISTAKES)  # the app's one flat table, as main.py does
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


@pytest.mark.parametrize("path", ["/mistakes/wrong-argument-count", "/mistakes/undefined-column"])
async def test_a_mistake_in_our_sql_is_a_500_logged_once_with_its_traceback(
    client: httpx.AsyncClient, path: str
) -> None:
    with captured_logs() as buffer:
        response = await client.get(path, headers={"X-Request-ID": "sql-bug-1"})
    assert response.status_code == 500, response.text
    assert "Retry-After" not in response.headers
    assert response.json() == {"detail": "Internal server error"}
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    with_traceback = [line for line in lines if "traceback" in line]
    assert len(with_traceback) == 1
    assert with_traceback[0]["request_id"] == "sql-bug-1"
    assert not any("unavailable" in line["message"] for line in lines)


def test_only_a_closed_connection_interface_error_counts_as_an_outage() -> None:
    assert is_closed_postgres_connection(asyncpg.InterfaceError("connection is closed"))
    assert is_closed_postgres_connection(asyncpg.InterfaceError("pool is closing"))
    wrong_args = asyncpg.InterfaceError(
        "the server expects 1 argument for this query, 0 were passed"
    )
    assert not is_closed_postgres_connection(wrong_args)


async def test_an_app_error_renders_its_declared_status_body_and_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/mistakes/teapot")
    assert response.status_code == 418
    assert response.json() == {"detail": "I am a teapot"}
    assert response.headers["x-brew"] == "no"
    assert response.headers["cache-control"] == "no-store"


def test_the_openapi_entry_comes_from_the_declaration() -> None:
    entry = documented(Teapot)[418]
    assert entry["description"] == "I am a teapot"
    assert entry["headers"]["X-Brew"]["required"] is True


def test_errors_sharing_a_status_share_one_entry_and_a_header_only_some_send_is_optional() -> None:
    class Busy(ServiceUnavailable):
        description = "Busy"

    class Plain(AppError):
        status_code = 503
        description = "Plain"

    entry = documented(Busy, Plain)[503]
    assert entry["description"] == "Busy; Plain"
    assert entry["headers"]["Retry-After"]["required"] is False


async def test_a_wrong_method_lists_every_method_of_the_path_in_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/mistakes/shared")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"detail": "Method Not Allowed"}
