"""Slowloris: hundreds of connections that send their request headers one line a second and
never finish, while a real client keeps asking. nginx must keep serving the real client (it has
8,192 connections per worker and never hands a half-read request to gunicorn) and must cut the
slow ones after client_header_timeout (10 s in nginx.conf)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import httpx

TRICKLE_SECONDS = 1.0


@dataclass
class SlowlorisResult:
    slow_connections: int
    opened: int = 0
    cut_by_server: int = 0
    last_cut_after: float = 0.0  # seconds from the start: how long nginx put up with them
    probes: int = 0
    probe_failures: int = 0
    probe_max_seconds: float = 0.0


async def _slow_client(
    host: str, port: int, result: SlowlorisResult, started: float, seconds: float
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return
    result.opened += 1
    try:
        writer.write(f"GET /v1/hello HTTP/1.1\r\nHost: {host}\r\n".encode())
        for line in range(int(seconds / TRICKLE_SECONDS)):
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.read(1024), TRICKLE_SECONDS)
            except TimeoutError:
                writer.write(f"X-Slow-{line}: still typing\r\n".encode())
                continue
            # nginx either closes (empty read) or answers 408: either way it gave up on us.
            del answer
            result.cut_by_server += 1
            result.last_cut_after = max(result.last_cut_after, time.monotonic() - started)
            return
    except OSError:
        result.cut_by_server += 1
        result.last_cut_after = max(result.last_cut_after, time.monotonic() - started)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _probe(base_url: str, auth: str, result: SlowlorisResult, until: float) -> None:
    # A new connection per request: the accept path is what slow clients would starve.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0, limits=limits) as http:
        while time.monotonic() < until:
            for path in ("/v1/hello", "/getName"):
                begun = time.monotonic()
                try:
                    response = await http.get(path, headers={"Authorization": auth})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.monotonic() - begun
                result.probes += 1
                result.probe_failures += not ok
                result.probe_max_seconds = max(result.probe_max_seconds, round(elapsed, 3))
            await asyncio.sleep(0.05)


async def slowloris(
    host: str, port: int, auth: str, connections: int = 300, seconds: float = 14.0
) -> SlowlorisResult:
    result = SlowlorisResult(slow_connections=connections)
    started = time.monotonic()
    slow = [
        asyncio.create_task(_slow_client(host, port, result, started, seconds))
        for _ in range(connections)
    ]
    await asyncio.sleep(0.5)  # all slow connections open before the real client starts
    await _probe(f"http://{host}:{port}", auth, result, started + seconds)
    await asyncio.gather(*slow)
    return result
