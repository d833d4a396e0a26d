"""The workers' event loop spreads a burst of new connections over the processes that share
the listening socket (as gunicorn's workers do)."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Semaphore

from utils.serving.event_loop import FairAcceptEventLoop

WORKERS = 2
CONNECTIONS = 64
WORK_PER_CONNECTION = 0.002  # seconds of CPU, as if each connection brought a request


def _serve(listener: socket.socket, ready: Semaphore, accepted: Queue[int]) -> None:
    loop = FairAcceptEventLoop()
    connections: list[asyncio.BaseTransport] = []

    class Busy(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            connections.append(transport)
            until = time.perf_counter() + WORK_PER_CONNECTION
            while time.perf_counter() < until:
                pass

    loop.run_until_complete(loop.create_server(Busy, sock=listener, backlog=2048))
    ready.release()
    loop.run_until_complete(asyncio.sleep(0.6))
    accepted.put(len(connections))


def _accepted_per_worker() -> list[int]:
    context = multiprocessing.get_context("fork")
    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
    ready, accepted = context.Semaphore(0), context.Queue()
    workers = [
        context.Process(target=_serve, args=(listener, ready, accepted)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert ready.acquire(timeout=10)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(CONNECTIONS)]
    try:
        return sorted(accepted.get(timeout=10) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=10)
        for client in clients:
            client.close()
        listener.close()


def test_a_burst_of_connections_is_spread_over_the_workers() -> None:
    # asyncio's own loop accepts up to the whole backlog per wake-up: one worker would take
    # most of the burst (measured 2-62, 4-60, 9-55 of 64).
    for _ in range(3):
        fewest, most = _accepted_per_worker()
        assert fewest + most == CONNECTIONS
        assert fewest >= CONNECTIONS * 3 // 8, (fewest, most)
