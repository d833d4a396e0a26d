"""No redirect of the app names a Host it did not configure: a path with a trailing slash that
the app does not serve is a JSON 404, not a 307 to `http://<client's Host>/<path>`."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from app.core.settings import Settings
from main import create_app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/metrics/"),
        ("GET", "/getName/"),
        ("GET", "/auth/verify/"),  # part:gateway
        ("POST", "/login/"),
        ("GET", "/v1/hello/"),
        ("GET", "/health/live/"),
    ],
)
async def test_a_trailing_slash_is_a_json_404_that_ignores_the_host(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json() == {"detail": "Not Found"}
    assert "evil.example" not in response.text


def test_no_route_ends_in_a_slash(settings: Settings) -> None:
    """What makes a 404 right for every trailing slash: the app serves no such path."""
    router = create_app(settings).router
    assert not router.redirect_slashes
    paths = [route.path for route in router.routes if isinstance(route, APIRoute)]
    assert paths
    assert [path for path in paths if path.endswith("/")] == []
