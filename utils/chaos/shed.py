"""Load shedding: more concurrent setName requests than the PostgreSQL pool has connections.
A request that cannot get a connection within DB_ACQUIRE_TIMEOUT must be answered 503 with
Retry-After (app/errors.py), not queued until nginx gives up on it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx


@dataclass
class ShedResult:
    sent: int
    statuses: dict[int, int]
    shed_without_retry_after: int
    max_seconds: float


async def shed_burst(
    base_url: str, auth: dict[str, str], clients: int, seconds: float
) -> ShedResult:
    """`clients` concurrent setName loops for `seconds`; every answer must be 200 or a 503
    with Retry-After, and none slower than the pool wait plus the statement budget."""
    statuses: Counter[int] = Counter()
    missing_retry_after = 0
    slowest = 0.0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0, limits=limits) as http:

        async def loop(index: int) -> None:
            nonlocal missing_retry_after, slowest
            while time.monotonic() < deadline:
                started = time.monotonic()
                response = await http.post("/setName", json={"name": f"shed-{index}"}, headers=auth)
                slowest = max(slowest, time.monotonic() - started)
                statuses[response.status_code] += 1
                if response.status_code == 503 and "retry-after" not in response.headers:
                    missing_retry_after += 1

        await asyncio.gather(*(loop(i) for i in range(clients)))
    return ShedResult(
        sum(statuses.values()), dict(statuses), missing_retry_after, round(slowest, 3)
    )
