"""One lane per aggregate: a consumer that takes many messages per round trip handles different
aggregates' events side by side and one aggregate's events one after another, in the order it
was given them. The consumer reads its messages in delivery order and starts each here; nothing
else may reorder them (docs/architecture.md, "Consumers: many in flight, one aggregate in
order", says why the brokers' own handler tasks do not qualify)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

logger = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class AggregateLanes:
    """Runs work with at most `limit` pieces started and not finished; a piece waits for the
    earlier ones of its key. A piece that raises is logged; the next one of its key still runs."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def start(self, key: Hashable, work: Work) -> None:
        """Wait for a free slot, then queue `work` behind its key's earlier work. Returns
        without waiting for it to run."""
        await self._slots.acquire()
        task = asyncio.create_task(self._run(key, self._tails.get(key), work))
        self._tails[key] = task
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: Hashable, previous: asyncio.Task[None] | None, work: Work) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # its outcome is its own; only its end counts
            await work()
        except Exception:
            logger.exception("consumer: handling a message failed; the broker delivers it again")
        finally:
            self._slots.release()
            if self._tails.get(key) is asyncio.current_task():
                del self._tails[key]

    async def finish(self, grace_seconds: float) -> None:
        """Give the started work up to `grace_seconds`, then cancel what is left (the broker
        delivers what was not acknowledged again)."""
        running = set(self._running)
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
