"""Errors nginx makes after a handler already chose a file (issue 23, findings 2 and 4): a range
past the end (416) and a failed precondition (412) are JSON like every other nginx error, never
cached, with the security headers once; HTTP/0.9 requests (no headers possible) are refused."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.raw import address
from tests.e2e.target import Target

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


async def read_all(target: Target, request: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection(*address(target.base_url))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/", "/health/live", IMAGE, "/nginx/health", "/../etc/passwd"])
async def test_http_0_9_requests_are_closed_without_an_answer(target: Target, path: str) -> None:
    """HTTP/0.9 has no status line or headers: nginx would send a bare body without any of the
    security headers. It closes the connection instead."""
    assert await read_all(target, f"GET {path}\r\n".encode()) == b""


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET /nginx/health HTTP/1.0", 200),
        (b"GET /../etc/passwd HTTP/1.0", 400),
        (b"GET /../etc/passwd HTTP/1.1\r\nHost: x", 400),
    ],
    ids=["1.0", "1.0-bad-target", "1.1-bad-target"],
)
async def test_http_1_requests_still_get_an_answer_with_headers(
    target: Target, request_line: bytes, status: int
) -> None:
    answer = await read_all(target, request_line + b"\r\nConnection: close\r\n\r\n")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"\r\nX-Frame-Options: DENY\r\n" in answer
