"""argon2id hashing kept off the event loop, with a per-worker bound on hashes in flight.

Each running hash holds `argon2_memory_kib` of memory. Hashes run on a pool of exactly
`argon2_max_concurrent` threads: glibc keeps a freed block in the arena of the thread that used
it, so asyncio's default executor (several threads) let a login storm leave one block per
thread behind; one thread (the default) keeps one block, and a second without hashes gives it
back when the allocator uses one arena (app/auth/hash_memory.py, set at start-up by
app/auth/lifespan.py). Forcing glibc to unmap each block instead made every verification
slower (docs/benchmark.md).

Verifications are admitted to the queue for a slot only while the expected wait stays within
`login_max_queue_seconds`: the hashes ahead (queued and running) times the recent time of one
hash, spread over the slots. A login that would wait longer gets `HasherBusy` at once (503 with
Retry-After) instead of queueing for seconds; a wait that still runs over (a slower hash than
the estimate) is cut at the bound the same way. Under overload the answered logins then wait at
most that long and the rest are told when to come back.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.exceptions import HasherBusy, HashingAbandoned
from app.auth.hash_memory import release_free_memory
from app.core.settings import Settings
from app.observability.metrics import HASH_DURATION, HASH_QUEUE, HASH_WAIT, record_login

T = TypeVar("T")

# Asks whether the client is still there (Request.is_disconnected).
ClientGone = Callable[[], Awaitable[bool]]


# Weight of the newest hash in the running estimate of one hash's time.
ESTIMATE_WEIGHT = 0.2


class PasswordHasherService:
    def __init__(
        self,
        settings: Settings,
        *,
        release_memory_after: float = 1.0,
        gives_memory_back: bool = False,
    ) -> None:
        """`gives_memory_back`: the allocator uses one arena (hash_memory.use_one_arena()), so a
        trim after a pause returns the hashing block to the OS."""
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(settings.argon2_max_concurrent)
        self._slot_count = settings.argon2_max_concurrent
        self._max_wait_s = settings.login_max_queue_seconds
        self._admitted = 0  # verifications waiting for a slot or running
        self._release_after = release_memory_after
        self._gives_memory_back = gives_memory_back
        self._running = 0
        self._release: asyncio.TimerHandle | None = None
        self._threads = ThreadPoolExecutor(
            max_workers=settings.argon2_max_concurrent, thread_name_prefix="argon2"
        )
        # Unknown users are verified against this, so both 401 paths cost the same. Timing it
        # gives the first estimate of one hash's time.
        started = time.perf_counter()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self.seconds_per_hash = time.perf_counter() - started

    @property
    def gives_memory_back(self) -> bool:
        return self._gives_memory_back

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _observe(self, took: float) -> None:
        self.seconds_per_hash += ESTIMATE_WEIGHT * (took - self.seconds_per_hash)

    def expected_wait(self) -> float:
        """Seconds a verification admitted now would wait for a slot."""
        ahead = self._admitted - self._slot_count + 1
        return max(0, ahead) / self._slot_count * self.seconds_per_hash

    def shed_if_busy(self) -> None:
        """Raise HasherBusy now if a verification would not be admitted: lets a login be shed
        before it spends a Redis and a PostgreSQL round trip on the way to the hasher."""
        self._admit()

    def _admit(self) -> None:
        wait = self.expected_wait()
        if wait > self._max_wait_s:
            record_login("shed")
            raise HasherBusy(retry_after=max(1, math.ceil(wait)))

    def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, function: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        if self._release is not None:
            self._release.cancel()
            self._release = None
        self._running += 1
        started = time.perf_counter()
        try:
            return await loop.run_in_executor(self._threads, function, *args)
        finally:
            HASH_DURATION.observe(time.perf_counter() - started)
            self._running -= 1
            if self._running == 0 and self._gives_memory_back:
                self._release = loop.call_later(self._release_after, self._release_memory)

    def _release_memory(self) -> None:
        """No hash for `release_memory_after` seconds: hand the hashing memory back."""
        self._release = None
        self._threads.submit(release_free_memory)

    @asynccontextmanager
    async def _slot(self, *, max_wait: float | None = None) -> AsyncIterator[None]:
        """A hashing slot; the time spent queueing for it is measured. Waiting longer than
        `max_wait` sheds the caller (HasherBusy: 503 with Retry-After)."""
        started = time.perf_counter()
        HASH_QUEUE.inc()
        try:
            async with asyncio.timeout(max_wait):
                await self._slots.acquire()
        except TimeoutError:
            record_login("shed")
            raise HasherBusy(retry_after=max(1, math.ceil(max_wait or 0))) from None
        finally:
            HASH_QUEUE.dec()
        HASH_WAIT.observe(time.perf_counter() - started)
        try:
            yield
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await self._in_thread(self._hasher.hash, password)

    async def verify(
        self, password_hash: str | None, password: str, *, client_gone: ClientGone | None = None
    ) -> bool:
        """Constant-shape check: a missing user still pays for one verification.

        Under a login storm requests queue for a slot longer than nginx waits; hashing for
        clients that are gone would only lengthen the queue (41 vs 49 logins/s at 256 clients).
        """
        self._admit()
        self._admitted += 1
        try:
            async with self._slot(max_wait=self._max_wait_s):
                if client_gone is not None and await client_gone():
                    raise HashingAbandoned
                # Timed from the event loop, slot to result: the time a slot is really held,
                # waits for a CPU included (timing the hash alone admitted too long a queue on a
                # busy host; docs/benchmark.md).
                started = time.perf_counter()
                verified = await self._in_thread(
                    self._verify_sync, password_hash or self._dummy_hash, password
                )
                self._observe(time.perf_counter() - started)
                return verified and password_hash is not None
        finally:
            self._admitted -= 1

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
