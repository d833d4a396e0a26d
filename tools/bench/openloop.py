"""Open-loop load: requests start at a constant arrival rate whether or not earlier ones were
answered, the way independent clients arrive. (wrk keeps N connections busy, a closed loop: a
slow server slows the load down and 256 connections measure queueing, not service time.)

wrk2 holds a rate but is not packaged for Debian, so this is a small asyncio generator on raw
sockets: HTTP/1.1 keep-alive connections, one request at a time each, opened as needed up to a
cap. Each request's latency runs from its scheduled start, so waiting for a connection or for
the generator itself counts too (no coordinated omission). It runs on uvloop to keep its own CPU
cost low; at a few thousand requests/s it is within a CPU of this machine, so rates are kept
to what the cases need (a multiple of /login's and /setName's capacity).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

TIMEOUT_S = 10.0  # as wrk's --timeout: a longer wait is a socket error
MAX_CONNECTIONS = 1024


@dataclass
class OpenLoopResult:
    rate: float  # requests per second asked for
    duration_s: float
    sent: int = 0
    ok: int = 0
    shed: int = 0  # 503 with Retry-After
    other_non_2xx: int = 0
    socket_errors: int = 0
    connections: int = 0  # opened over the run
    latencies_ms: list[float] = field(default_factory=list, repr=False)  # 2xx answers
    shed_latencies_ms: list[float] = field(default_factory=list, repr=False)

    @staticmethod
    def _quantile(values: list[float], q: float) -> float:
        if not values:
            return 0.0
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]

    @property
    def p50_ms(self) -> float:
        return self._quantile(self.latencies_ms, 0.5)

    @property
    def p99_ms(self) -> float:
        return self._quantile(self.latencies_ms, 0.99)

    @property
    def shed_p99_ms(self) -> float:
        return self._quantile(self.shed_latencies_ms, 0.99)

    @property
    def ok_rps(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "rate": round(self.rate, 1),
            "duration_s": self.duration_s,
            "sent": self.sent,
            "ok": self.ok,
            "ok_rps": round(self.ok_rps, 1),
            "shed": self.shed,
            "other_non_2xx": self.other_non_2xx,
            "socket_errors": self.socket_errors,
            "connections": self.connections,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "shed_p99_ms": round(self.shed_p99_ms, 2),
        }


# --- the requests: the same bodies the wrk scripts send (lua/login.lua, lua/set_name.lua) ----


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def login_requests(users_file: Path, host: str) -> list[bytes]:
    out = []
    for line in users_file.read_text().splitlines():
        if not line.strip():
            continue
        username, password = line.split()
        body = json.dumps({"username": username, "password": password}).encode()
        out.append(_request("POST", "/login", host, {"Content-Type": "application/json"}, body))
    return out


def set_name_requests(tokens_file: Path, host: str, tag: str = "") -> list[bytes]:
    """`tag` in every name: a run that must see each request change its row (and write an
    event) picks a tag of its own, since an earlier run may have left the same names."""
    tokens = [t for t in tokens_file.read_text().splitlines() if t.strip()]
    out = []
    for variant in ("", " b"):  # two names per user: every request really changes the row
        for i, token in enumerate(tokens, start=1):
            body = json.dumps({"name": f"Bench User {i}{tag}{variant}"}).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            out.append(_request("POST", "/setName", host, headers, body))
    return out


# --- the generator -------------------------------------------------------------------------


class _Answer:
    __slots__ = ("keep_alive", "retry_after", "status")

    def __init__(self, status: int, retry_after: bool, keep_alive: bool) -> None:
        self.status = status
        self.retry_after = retry_after
        self.keep_alive = keep_alive


async def _read_answer(reader: asyncio.StreamReader) -> _Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, retry_after, keep_alive = 0, False, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "retry-after":
            retry_after = True
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    if length:
        await reader.readexactly(length)
    return _Answer(status, retry_after, keep_alive)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Generator:
    def __init__(self, url: str, requests: Sequence[bytes], result: OpenLoopResult) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.requests = requests
        self.result = result
        self.idle: deque[Connection] = deque()
        self.open = 0
        self.freed = asyncio.Condition()

    async def _connection(self) -> Connection:
        while True:
            if self.idle:
                return self.idle.pop()
            if self.open < MAX_CONNECTIONS:
                self.open += 1
                self.result.connections += 1
                try:
                    return await asyncio.open_connection(self.host, self.port)
                except OSError:
                    self.open -= 1
                    raise
            async with self.freed:
                await self.freed.wait()

    async def _give_back(self, conn: Connection | None) -> None:
        if conn is None:
            self.open -= 1
        else:
            self.idle.append(conn)
        async with self.freed:
            self.freed.notify()

    async def one(self, index: int, scheduled: float) -> None:
        result = self.result
        conn: Connection | None = None
        try:
            async with asyncio.timeout(TIMEOUT_S):
                conn = await self._connection()
                reader, writer = conn
                writer.write(self.requests[index % len(self.requests)])
                answer = await _read_answer(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            result.socket_errors += 1
            if conn is not None:
                conn[1].close()
            await self._give_back(None)
            return
        took_ms = (time.perf_counter() - scheduled) * 1000
        if 200 <= answer.status < 300:
            result.ok += 1
            result.latencies_ms.append(took_ms)
        elif answer.status == 503 and answer.retry_after:
            result.shed += 1
            result.shed_latencies_ms.append(took_ms)
        else:
            result.other_non_2xx += 1
        if answer.keep_alive:
            await self._give_back(conn)
        else:
            conn[1].close()
            await self._give_back(None)

    async def run(self) -> None:
        rate, duration = self.result.rate, self.result.duration_s
        total = int(rate * duration)
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter() + 0.05
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0.001:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(i, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            self.result.sent += 1
        if tasks:
            await asyncio.wait(tasks)
        for _, writer in self.idle:
            writer.close()


def run(url: str, requests: Sequence[bytes], *, rate: float, duration_s: float) -> OpenLoopResult:
    """Send `rate` requests per second for `duration_s` to `url` (scheme://host:port), cycling
    through `requests`; every request is waited for (up to TIMEOUT_S) before this returns."""
    result = OpenLoopResult(rate=rate, duration_s=duration_s)
    uvloop.run(_Generator(url, requests, result).run())
    return result
