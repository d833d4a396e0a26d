"""The versioned hello endpoints: v1 keeps its flat contract while v2 evolves it."""

import tomllib

import httpx

from tests.services import ROOT
from version import __version__


async def test_v1_hello_returns_flat_test_data(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/hello")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "v1"
    assert body["message"]


async def test_v2_hello_wraps_data_in_envelope_with_meta(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/hello")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["message"]
    assert body["meta"]["api_version"] == "v2"
    assert body["meta"]["app_version"] == __version__
    assert body["meta"]["server_time"]


async def test_hello_is_publicly_cacheable_for_a_few_seconds(client: httpx.AsyncClient) -> None:
    for path in ("/v1/hello", "/v2/hello"):
        response = await client.get(path)
        assert response.headers["cache-control"] == "public, max-age=5"


async def test_unknown_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v9/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_openapi_shows_app_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.json()["info"]["version"] == __version__
    docs = await client.get("/docs")
    assert docs.status_code == 200


async def test_response_carries_request_id(client: httpx.AsyncClient) -> None:
    given = await client.get("/v1/hello", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/v1/hello")
    assert len(made.headers["x-request-id"]) == 32


def test_project_version_matches_version_py() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
