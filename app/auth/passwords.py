"""argon2id hashing kept off the event loop, with a per-worker bound on hashes in flight.

Each running hash holds `argon2_memory_kib` (19 MiB). Hashes run on a pool of exactly
`argon2_max_concurrent` threads: glibc keeps a freed block in the arena of the thread that used
it, so asyncio's default executor (up to 6 threads here) let a login storm leave 6 x 19 MiB per
worker behind; one thread (the default) keeps one block, and a second without hashes gives it
back (app/auth/hash_memory.py). (Forcing glibc to unmap each block instead made every
verification 12 ms slower: 18 -> 30 ms.)
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.hash_memory import release_free_memory, use_one_arena
from app.observability.metrics import HASH_DURATION, HASH_QUEUE, HASH_WAIT
from app.settings import Settings

T = TypeVar("T")

# Asks whether the client is still there (Request.is_disconnected).
ClientGone = Callable[[], Awaitable[bool]]


class HashingAbandoned(Exception):
    """The client left while its verification waited for a slot: nobody would get the answer."""


class PasswordHasherService:
    def __init__(self, settings: Settings, *, release_memory_after: float = 1.0) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(settings.argon2_max_concurrent)
        self._release_after = release_memory_after
        self._gives_memory_back = use_one_arena()
        self._running = 0
        self._release: asyncio.TimerHandle | None = None
        self._threads = ThreadPoolExecutor(
            max_workers=settings.argon2_max_concurrent, thread_name_prefix="argon2"
        )
        # Unknown users are verified against this, so both 401 paths cost the same.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

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
    async def _slot(self) -> AsyncIterator[None]:
        """A hashing slot; the time spent queueing for it is measured."""
        started = time.perf_counter()
        HASH_QUEUE.inc()
        try:
            await self._slots.acquire()
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
        async with self._slot():
            if client_gone is not None and await client_gone():
                raise HashingAbandoned
            if password_hash is None:
                await self._in_thread(self._verify_sync, self._dummy_hash, password)
                return False
            return await self._in_thread(self._verify_sync, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
