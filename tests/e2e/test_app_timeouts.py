"""gunicorn's own bounds on connections that reach it directly, not through nginx (issue 23,
finding 3): a neighbour on the API's network must not hold connections open with a request
head that never ends, or with no request at all. Raw sockets against the real gunicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.e2e.conftest import start_stack
from tests.e2e.raw import address
from tests.e2e.target import Target
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 2.0
KEEPALIVE = 3.0
SLACK = 1.5  # event loop and scheduling delays
DEFAULT_HEADER_TIMEOUT = 10.0  # gunicorn.py.ini's default


@pytest.fixture(scope="module")
def short_timeouts_stack(request: pytest.FixtureRequest, target: Target) -> Iterator[LocalStack]:
    target.local()
    stack = start_stack(
        request,
        "timeouts",
        GUNICORN_HEADER_TIMEOUT=str(int(HEADER_TIMEOUT)),
        GUNICORN_KEEPALIVE=str(int(KEEPALIVE)),
    )
    try:
        yield stack
    finally:
        stack.stop()


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.opened = asyncio.get_running_loop().time()

    @classmethod
    async def to(cls, base_url: str) -> Connection:
        return cls(*await asyncio.open_connection(*address(base_url)))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def closed_after(self, limit: float) -> tuple[float, bytes]:
        """Seconds from opening until the server closed, and what it sent; fails when the
        connection is still open `limit` seconds after it was opened."""
        received = b""
        try:
            async with asyncio.timeout(limit - (asyncio.get_running_loop().time() - self.opened)):
                while chunk := await self.reader.read(65536):
                    received += chunk
        except TimeoutError:
            pytest.fail(f"still open {limit:.1f} s after it was opened; received {received!r}")
        except ConnectionError:  # reset, or a broken pipe: closed all the same
            pass
        return asyncio.get_running_loop().time() - self.opened, received


Opener = Callable[[], Awaitable[Connection]]


@pytest.fixture
async def open_api(short_timeouts_stack: LocalStack) -> AsyncIterator[Opener]:
    """Opens raw connections to gunicorn itself (not nginx); closes them after the test."""
    opened: list[Connection] = []

    async def opener() -> Connection:
        opened.append(await Connection.to(short_timeouts_stack.api_url))
        return opened[-1]

    yield opener
    for conn in opened:
        conn.writer.close()


async def test_half_a_request_line_is_closed_at_the_header_timeout(
    open_api: Opener,
) -> None:
    conn = await open_api()
    await conn.send(b"GET /health/li")
    elapsed, received = await conn.closed_after(HEADER_TIMEOUT + SLACK)
    assert elapsed >= HEADER_TIMEOUT - 0.2
    assert received == b""


async def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(
    open_api: Opener,
) -> None:
    conn = await open_api()
    elapsed, _ = await conn.closed_after(HEADER_TIMEOUT + SLACK)
    assert elapsed >= HEADER_TIMEOUT - 0.2


async def test_a_head_trickling_in_is_cut_at_the_deadline_not_per_byte(
    open_api: Opener,
) -> None:
    conn = await open_api()
    await conn.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        for n in range(100):
            await asyncio.sleep(0.3)
            try:
                await conn.send(f"X-Slow-{n}: y\r\n".encode())
            except ConnectionError:
                return

    sender = asyncio.create_task(trickle())
    try:
        await conn.closed_after(HEADER_TIMEOUT + SLACK)
    finally:
        sender.cancel()


async def test_an_endless_head_is_cut_before_the_deadline(open_api: Opener) -> None:
    """A head far larger than nginx ever sends (it caps client headers at 32 KiB) ends the
    connection at once, instead of filling the worker's memory until the deadline."""
    conn = await open_api()
    await conn.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    try:
        for _ in range(256):  # 256 KiB
            await conn.send(line)
    except ConnectionError:
        pass
    elapsed, _ = await conn.closed_after(HEADER_TIMEOUT)
    assert elapsed < HEADER_TIMEOUT - 0.5


async def test_an_idle_keep_alive_connection_is_closed_after_keepalive(
    open_api: Opener,
) -> None:
    conn = await open_api()
    await conn.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await conn.reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    answered = asyncio.get_running_loop().time() - conn.opened
    elapsed, _ = await conn.closed_after(answered + KEEPALIVE + SLACK)
    assert elapsed - answered >= KEEPALIVE - 0.2


async def test_a_slow_but_timely_head_and_the_next_request_are_served(
    open_api: Opener,
) -> None:
    """The deadline covers one head: a request split within it is answered, and a second
    request on the same connection gets a deadline of its own."""
    conn = await open_api()
    for _ in range(2):
        await conn.send(b"GET /health/li")
        await asyncio.sleep(HEADER_TIMEOUT * 0.6)
        await conn.send(b"ve HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await conn.reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await conn.reader.readexactly(length)
        await asyncio.sleep(HEADER_TIMEOUT * 0.6)  # idle: bounded by keepalive, not the head


async def test_the_default_configuration_bounds_the_head_too(target: Target) -> None:
    """The stack every other test uses runs gunicorn.py.ini's defaults."""
    conn = await Connection.to(target.local().api_url)
    try:
        await conn.send(b"GET /health/li")
        await conn.closed_after(DEFAULT_HEADER_TIMEOUT + SLACK)
    finally:
        conn.writer.close()
