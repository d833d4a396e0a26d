"""The asyncpg pool: created in the lifespan, closed on shutdown.

Sizing rule: db_pool_max_size x gunicorn workers x API replicas < PostgreSQL max_connections.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

logger = logging.getLogger(__name__)

Pool = asyncpg.Pool
if TYPE_CHECKING:  # generic only in asyncpg-stubs
    Connection = PoolConnectionProxy[asyncpg.Record]
    AcquireContext = PoolAcquireContext[asyncpg.Record]
else:
    Connection = PoolConnectionProxy
    AcquireContext = PoolAcquireContext


async def _end_transaction_only(connection: asyncpg.Connection) -> None:
    """Release-time reset: nothing beyond what asyncpg always does (roll back an open
    transaction, drop listeners).

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`
    on every release: a second round trip per query, on the request's path, while the
    connection stays taken. Pooled connections here never hold session state (no SET, LISTEN,
    advisory locks or cursors outside a transaction; the relay's lock lives on its own
    connection), so there is nothing to reset.
    """


class BoundedPool(asyncpg.Pool):
    """A pool that hands out connections first come, first served, waiting at most
    `acquire_timeout` for one.

    asyncpg waits forever by default: under overload every request would queue for a
    connection. With a bound, the wait ends in TimeoutError, which the app answers with a fast
    503 + Retry-After (app/http/errors.py): it sheds load instead.
    asyncpg's own queue is not fair: a connection released while others wait goes to whichever
    coroutine asks next, often a newcomer, and a woken waiter that lost the race queues again at
    the back, so a low median hid a tail of timeouts (docs/benchmark.md). A FIFO semaphore with
    one slot per connection orders the waiters instead.
    """

    __slots__ = ("_acquire_timeout", "_gate", "_observer", "_waiting")

    def __init__(
        self,
        *args: Any,
        acquire_timeout: float,
        max_size: int,
        observer: AcquireObserver | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self._acquire_timeout = acquire_timeout
        self._gate = asyncio.Semaphore(max_size)
        self._observer = observer
        self._waiting = 0

    def waiting(self) -> int:
        """Acquires waiting for a connection right now."""
        return self._waiting

    def acquire(self, *, timeout: float | None = None) -> AcquireContext:
        return _InTurn(self, self._acquire_timeout if timeout is None else timeout)

    async def acquire_in_turn(self, wait_seconds: float | None) -> Connection:
        observer = self._observer
        started = time.perf_counter()
        try:
            connection = await self._acquire_in_turn(wait_seconds)
        except TimeoutError:
            if observer is not None:
                observer.timed_out()
            raise
        if observer is not None:
            observer.waited(time.perf_counter() - started)
        return connection

    async def _acquire_in_turn(self, wait_seconds: float | None) -> Connection:
        async with asyncio.timeout(wait_seconds):
            self._waiting += 1
            try:
                await self._gate.acquire()
            finally:
                self._waiting -= 1
            try:
                # Holding a slot means a connection is free (or may be opened): no wait here.
                return await super().acquire()
            except BaseException:
                self._gate.release()
                raise

    async def release(
        self,
        connection: Connection,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (asyncpg names it so)
    ) -> None:
        try:
            await super().release(connection, timeout=timeout)
        finally:
            self._gate.release()


class _InTurn(AcquireContext):
    """`async with pool.acquire()` (what `pool.fetch*()` use) and `await pool.acquire()`,
    both through the gate; leaving the block calls `pool.release()`, which frees the slot."""

    __slots__ = ()

    async def __aenter__(self) -> Connection:
        if self.connection is not None or self.done:
            raise asyncpg.InterfaceError("a connection is already acquired")
        self.connection = await cast(BoundedPool, self.pool).acquire_in_turn(self.timeout)
        return self.connection

    def __await__(self) -> Generator[Any, None, Connection]:
        self.done = True
        return cast(BoundedPool, self.pool).acquire_in_turn(self.timeout).__await__()


DEFAULT_STATEMENT_CACHE_SIZE = 100  # asyncpg's own default


@dataclass(frozen=True, slots=True)
class AcquireObserver:
    """Told about every acquire: how long it waited, or that it timed out (plain callables, so
    the caller chooses the metrics library)."""

    waited: Callable[[float], None]
    timed_out: Callable[[], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolOptions:
    """Everything the pool needs, as plain values: the app builds it from its settings."""

    dsn: str
    min_size: int
    max_size: int
    acquire_timeout: float
    command_timeout: float
    connect_timeout: float
    application_name: str
    statement_timeout_ms: int
    idle_in_transaction_timeout_ms: int = 10_000
    # asyncpg's prepared-statement cache per connection; 0 turns it off (needed behind a
    # transaction pooler such as PgBouncer, whose server connections change per transaction).
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
    # PgBouncer refuses startup parameters beyond a few (application_name, ...); behind it the
    # two timeouts come from the role's settings instead (ALTER ROLE ... SET).
    timeouts_as_startup_parameters: bool = True
    observer: AcquireObserver | None = None


async def _open(options: PoolOptions, *, min_size: int) -> Pool:
    # The arguments asyncpg.create_pool() passes to Pool(); create_pool has no pool_class.
    pool = BoundedPool(
        options.dsn,
        acquire_timeout=options.acquire_timeout,
        observer=options.observer,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        min_size=min_size,
        max_size=options.max_size,
        max_queries=50000,
        loop=None,
        connect=None,
        setup=None,
        init=None,
        reset=_end_transaction_only,
        max_inactive_connection_lifetime=300.0,
        command_timeout=options.command_timeout,
        timeout=options.connect_timeout,
        statement_cache_size=options.statement_cache_size,
        server_settings=_startup_parameters(options),
    )
    return await pool


def _startup_parameters(options: PoolOptions) -> dict[str, str]:
    parameters = {"application_name": options.application_name}
    if options.timeouts_as_startup_parameters:
        parameters["statement_timeout"] = str(options.statement_timeout_ms)
        parameters["idle_in_transaction_session_timeout"] = str(
            options.idle_in_transaction_timeout_ms
        )
    return parameters


async def create_pool(options: PoolOptions) -> Pool:
    """Create the pool; if PostgreSQL is down at start-up, start empty and connect lazily.

    The service must come up (and report 503 on readiness) while the database is away, and
    recover without a restart once it returns.
    """
    try:
        return await _open(options, min_size=options.min_size)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        logger.warning("postgres unreachable at start (%s); connecting lazily", type(exc).__name__)
        return await _open(options, min_size=0)


async def close_pool(pool: Pool) -> None:
    try:
        await pool.close()
    except (OSError, TimeoutError, asyncpg.PostgresError):
        pool.terminate()
