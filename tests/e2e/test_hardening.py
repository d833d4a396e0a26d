"""nginx's side of the security review (docs/security.md): what clients cannot make it log,
requests refused as JSON before the app, dotfiles, and per-address limits."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import AccountFactory, login
from tests.e2e.raw import RawAnswer, address, read_answer, send_raw
from tests.e2e.target import Target
from tests.e2e.test_contract import logged_within

pytestmark = pytest.mark.e2e


def assert_json_error(answer: RawAnswer, status: int) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    body = answer.json()
    assert isinstance(body, dict)
    assert body["detail"]


async def test_access_log_has_no_query_string_and_stays_valid_utf8(
    http: httpx.AsyncClient, target: Target
) -> None:
    stack = target.local()
    request_id = f"log-{secrets.token_hex(6)}"
    token = secrets.token_hex(16)
    headers = {b"X-Request-ID": request_id.encode(), b"User-Agent": b"probe \xff\xfe"}
    response = await http.get(f"/v1/hello?access_token={token}", headers=headers)
    assert response.status_code == 200
    log = stack.run_dir / "nginx.log"
    assert await logged_within(log, request_id)
    raw = log.read_bytes()
    assert token.encode() not in raw
    access_lines = [line for line in raw.splitlines() if b'"logger":"nginx.access"' in line]
    entries = [json.loads(line.decode("utf-8")) for line in access_lines]  # strict UTF-8
    (mine,) = [e for e in entries if e["request_id"] == request_id]
    assert mine["uri"] == "/v1/hello"
    assert mine["user_agent"] == "(not UTF-8)"


async def test_a_request_answered_by_an_error_page_is_logged_with_its_own_method(
    http: httpx.AsyncClient, target: Target
) -> None:
    """An error page turns the method into GET; the log keeps the one the client sent."""
    stack = target.local()
    request_id = f"log-{secrets.token_hex(6)}"
    too_large = b"x" * (2 * 1024 * 1024)  # nginx's 413 page answers
    response = await http.post(
        "/login?x=1", content=too_large, headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 413
    log = stack.run_dir / "nginx.log"
    assert await logged_within(log, request_id)
    line = next(x for x in log.read_text().splitlines() if request_id in x)
    assert json.loads(line)["method"] == "POST"
    assert json.loads(line)["uri"] == "/login"
    assert json.loads(line)["status"] == 413


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /v1/hello?" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"FROB /v1/hello HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET /v1/hello HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /v1/h\xffllo HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /v1/hello?q=\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ],
    ids=["long-uri", "unknown-method", "unknown-transfer-coding", "http-2.0", "raw-ff", "raw-utf8"],
)
async def test_requests_nginx_refuses_get_json_errors(
    target: Target, request_bytes: bytes, status: int
) -> None:
    answer = await send_raw(target.base_url, request_bytes)
    assert answer.status == status, answer
    assert_json_error(answer, status)


# >>> part:gateway
async def test_echo_path_without_slash_is_a_json_404_that_ignores_the_host(
    target: Target,
) -> None:
    request = b"GET /services/echo HTTP/1.1\r\nHost: evil.example\r\n\r\n"
    answer = await send_raw(target.base_url, request)
    assert_json_error(answer, 404)
    assert b"evil.example" not in answer.body
    assert "evil.example" not in "".join(answer.headers.values())


# <<< part:gateway


@pytest.fixture
def static_dotfile(target: Target) -> Iterator[str]:
    """A dotfile really present under static/ (as a copied-in .env would be)."""
    stack = target.local()
    folder = Path(stack.nginx_values()["STATIC_ROOT"]) / "assets"
    dotfile = folder / f".secret-{secrets.token_hex(4)}"
    dotfile.write_text("SECRET=1\n")
    dotfile.chmod(0o644)
    try:
        yield f"/static/assets/{dotfile.name}"
    finally:
        dotfile.unlink()


async def test_static_never_serves_a_dotfile(http: httpx.AsyncClient, static_dotfile: str) -> None:
    response = await http.get(static_dotfile)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_a_static_folder_is_a_json_404_not_a_redirect(target: Target) -> None:
    answer = await send_raw(target.base_url, b"GET /static/assets HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_json_error(answer, 404)


async def test_one_address_holding_many_requests_gets_json_429_with_retry_after(
    target: Target,
) -> None:
    """limit_conn per address: requests whose bodies never come hold their slots. The test
    connects from 127.0.0.2 (the host's own 127.0.0.1 is exempt, for benchmarks)."""
    target.local()
    host, port = address(target.base_url)
    stalled = b"POST /setName HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    writers = []
    try:
        for _ in range(64):
            _, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.2", 0))
            writer.write(stalled)
            await writer.drain()
            writers.append(writer)
        await asyncio.sleep(0.3)  # nginx has read every header
        reader, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.2", 0))
        writers.append(writer)
        writer.write(b"GET /v1/hello HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(read_answer(reader), 5)
    finally:
        for writer in writers:
            writer.close()
    assert_json_error(answer, 429)
    assert answer.headers["retry-after"] == "1"


@pytest.mark.parametrize("path", ["/login", "/setName"])
async def test_a_body_trickling_in_is_cut_with_json_408_at_the_deadline(
    target: Target, http: httpx.AsyncClient, new_account: AccountFactory, path: str
) -> None:
    """One byte every 2 s never trips nginx's 10 s between reads; the app's total deadline
    (BODY_READ_TIMEOUT_SECONDS, 10 s) ends the request. /setName reads its body only for a
    valid token (without one it is a 401 at once), so that one is sent with a token."""
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if path == "/setName":
        auth = await login(http, await new_account())
        head += f"Authorization: {auth['Authorization']}\r\n"
    host, port = address(target.base_url)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"{head}Content-Length: 1000\r\n\r\n".encode())
    started = asyncio.get_running_loop().time()
    answer_task = asyncio.create_task(read_answer(reader))
    try:
        while not answer_task.done() and asyncio.get_running_loop().time() - started < 30:
            writer.write(b" ")
            await writer.drain()
            await asyncio.wait({answer_task}, timeout=2)
        answer = await asyncio.wait_for(answer_task, 1)
        waited = asyncio.get_running_loop().time() - started
    finally:
        answer_task.cancel()
        writer.close()
    assert_json_error(answer, 408)
    assert waited < 15
