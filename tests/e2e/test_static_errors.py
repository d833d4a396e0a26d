"""Errors nginx makes after a handler already chose a file (issue 23, finding 2): a range past the
end (416) and a failed precondition (412) are JSON like every other nginx error, never cached,
with the security headers once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.e2e

IMAGE = "/static/assets/img/happy.png"
SECURITY_HEADERS = ("x-request-id", "x-content-type-options", "x-frame-options", "referrer-policy")

PRECONDITIONS = [
    ({"If-Match": '"x"'}, 412),
    ({"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, 412),
]
PRECONDITION_IDS = ["if-match", "if-unmodified-since"]


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    assert body["detail"]
    cache_control = response.headers.get("cache-control", "")
    assert "public" not in cache_control
    assert "max-age" not in cache_control
    for name in SECURITY_HEADERS:
        assert len(response.headers.get_list(name)) == 1, (name, response.headers.get_list(name))


@pytest.mark.parametrize(("headers", "status"), PRECONDITIONS, ids=PRECONDITION_IDS)
async def test_static_precondition_errors_are_json_uncached_with_headers_once(
    http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    assert (await http.get(IMAGE)).status_code == 200
    assert_json_error(await http.get(IMAGE, headers=headers), status)


async def test_a_range_past_the_end_of_a_static_file_is_no_html_416(
    http: httpx.AsyncClient,
) -> None:
    """nginx makes a 416 after add_header ran: HTML, a week's Cache-Control, every security
    header twice. Static files take no ranges, so the whole file comes back."""
    whole = await http.get(IMAGE)
    response = await http.get(IMAGE, headers={"Range": "bytes=9999999-"})
    assert response.status_code == 200
    assert response.content == whole.content
    for name in SECURITY_HEADERS:
        assert len(response.headers.get_list(name)) == 1, (name, response.headers.get_list(name))


@pytest.mark.parametrize(("headers", "status"), PRECONDITIONS, ids=PRECONDITION_IDS)
async def test_precondition_errors_on_a_cached_answer_are_json_too(
    http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    """The micro-cache serves /v1/hello from a file, and nginx checks preconditions there."""
    for _ in range(50):
        if (await http.get("/v1/hello")).headers.get("x-cache-status") == "HIT":
            break
        await asyncio.sleep(0.1)
    response = await http.get("/v1/hello", headers=headers)
    assert response.headers["x-cache-status"] == "HIT"
    assert_json_error(response, status)
