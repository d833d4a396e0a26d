"""Steady traffic through nginx while faults happen: writers (setName with a ledger of
acknowledged values, getName, /v1/hello) and a login client. Every request becomes a Sample.

A writer behaves like a careful client: after a failed setName it retries the same value until
it is acknowledged (a 503 may hide a committed write), and after a 401 (Redis restarted without
persistence, so sessions are gone) it logs in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.chaos.environment import Account

CLIENT_TIMEOUT = 5.0  # a request slower than this counts as a hang (status 0)
PAUSE_BETWEEN = 0.02  # seconds between a writer's requests: steady, not a benchmark
LOGIN_INTERVAL = 0.4  # the login client's pace: under nginx's 5 logins/s per address
LOGIN_RETRY = 1.0  # up to this long (random) before a writer tries a refused login again
DRAIN_TIMEOUT = 15.0  # for every pending write to be acknowledged once the fault is over


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str  # login | setName | getName | hello
    started: float  # time.monotonic()
    seconds: float
    status: int  # 0: no HTTP answer (timeout, connection refused)
    json_body: bool
    dependency: str | None  # what a 503 body names

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def ok(self) -> bool:
        return self.status in (200, 204)


@dataclass
class Ledger:
    """The last value the server acknowledged, and the value being retried (if any)."""

    acked: str = "initial"
    pending: str | None = None


@dataclass
class Traffic:
    base_url: str
    samples: list[Sample] = field(default_factory=list)
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    paused: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    idle: dict[str, bool] = field(default_factory=dict)
    read_back: dict[str, str] = field(default_factory=dict)  # getName of each writer, paused

    async def request(
        self, http: httpx.AsyncClient, kind: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        response: httpx.Response | None = None
        with contextlib.suppress(httpx.HTTPError):  # no answer at all: status 0 below
            try:
                response = await http.request(method, path, **kwargs)
            except httpx.RemoteProtocolError:
                # The kept-alive connection was closed before our request was read (nginx
                # logged no answer for it): like any HTTP client, send an idempotent request
                # once more on a new connection (RFC 9112, 9.3.1). Other requests fail here.
                if method != "GET":
                    raise
                response = await http.request(method, path, **kwargs)
        json_body, dependency = False, None
        if response is not None:
            json_body = response.headers.get("content-type", "").startswith("application/json")
            if response.status_code == 503 and json_body:
                dependency = response.json().get("dependency")
        status = response.status_code if response is not None else 0
        self.samples.append(
            Sample(kind, started, time.monotonic() - started, status, json_body, dependency)
        )
        return response

    async def login(self, http: httpx.AsyncClient, account: Account) -> dict[str, str] | None:
        body = {"username": account.username, "password": account.password}
        response = await self.request(http, "login", "POST", "/login", json=body)
        if response is None or response.status_code != 200:
            return None
        return {"Authorization": response.headers["Authorization"]}

    def client(self, index: int) -> httpx.AsyncClient:
        """Client `index` connects from its own loopback address (127.0.0.2, .3, ...): nginx
        limits logins per address, and real clients do not all share one."""
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{index + 2}")
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=CLIENT_TIMEOUT, transport=transport
        )

    async def writer(self, account: Account, index: int) -> None:
        ledger = self.ledgers.setdefault(account.username, Ledger())
        sequence = 0
        auth: dict[str, str] | None = None
        async with self.client(index) as http:
            while not self.stopped.is_set():
                if self.paused.is_set() and ledger.pending is None and auth is not None:
                    if account.username not in self.read_back:
                        auth = await self.read_back_name(http, account, auth)
                    self.idle[account.username] = account.username in self.read_back
                    await asyncio.sleep(0.05)
                    continue
                self.idle[account.username] = False
                if auth is None:
                    auth = await self.login(http, account)
                    # A refused login waits like a polite client: nginx allows 5 logins/s per
                    # address, so writers retrying in a tight loop would lock each other out.
                    await asyncio.sleep(PAUSE_BETWEEN if auth else LOGIN_RETRY * random.random())  # noqa: S311
                    continue
                if ledger.pending is None:
                    sequence += 1
                    ledger.pending = f"{account.username}-{sequence}"
                written = await self.request(
                    http, "setName", "POST", "/setName", json={"name": ledger.pending}, headers=auth
                )
                if written is not None and written.status_code == 200:
                    ledger.acked, ledger.pending = ledger.pending, None
                auth = None if written is not None and written.status_code == 401 else auth
                if auth is not None and not self.paused.is_set():
                    read = await self.request(http, "getName", "GET", "/getName", headers=auth)
                    auth = None if read is not None and read.status_code == 401 else auth
                    await self.request(http, "hello", "GET", "/v1/hello")
                await asyncio.sleep(PAUSE_BETWEEN)

    async def read_back_name(
        self, http: httpx.AsyncClient, account: Account, auth: dict[str, str]
    ) -> dict[str, str] | None:
        """What the API (cache included) says this writer's name is; None after a 401."""
        read = await self.request(http, "getName", "GET", "/getName", headers=auth)
        if read is not None and read.status_code == 200:
            self.read_back[account.username] = read.json()["name"]
        return None if read is not None and read.status_code == 401 else auth

    async def login_client(self, account: Account, index: int) -> None:
        async with self.client(index) as http:
            while not self.stopped.is_set():
                if not self.paused.is_set():
                    await self.login(http, account)
                await asyncio.sleep(LOGIN_INTERVAL)

    async def drain(self) -> None:
        """Pause: every writer finishes its pending write (acknowledged), reads its name back
        through the API and goes idle."""
        self.read_back.clear()
        self.idle.clear()
        self.paused.set()
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while not all(self.idle.get(name) for name in self.ledgers):  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def resume(self) -> None:
        self.paused.clear()
