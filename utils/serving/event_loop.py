"""The workers' event loop: asyncio's, accepting a few connections per wake-up.

All gunicorn workers wait on one shared listening socket. asyncio accepts, per wake-up, as many
pending connections as the listen backlog (2048): the worker that wakes first takes a whole
burst of new connections, and keeps them (keep-alive). Measured with make bench: 64 wrk
connections opened together all landed in one of two workers, which served 3.7k req/s on one
CPU while the other idled (6.8k with the load spread). Taking a few per wake-up lets the other
workers, and a busy worker's own backlog, have their turn.
How few: a saturated worker wakes up seldom, and new connections then wait in the backlog.
getName at 1,024 connections for 20 s through nginx, p99: 3.9 s taking 4 per wake-up, 2.1 s
taking 16, 1.4 s with asyncio's 2,048; 16 still spread the 64-connection burst (6.5k req/s).

Used through uvicorn's custom loop option (UVICORN_LOOP, see gunicorn.py.ini).
"""

from __future__ import annotations

import asyncio
from typing import Any

ACCEPTS_PER_WAKEUP = 16
# asyncio.selector_events.BaseSelectorEventLoop._accept_connection(protocol_factory, sock,
# sslcontext, server, backlog, ...): the batch size is the fifth argument.
_BACKLOG_ARG = 4


class FairAcceptEventLoop(asyncio.SelectorEventLoop):
    def _accept_connection(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > _BACKLOG_ARG:
            args = (*args[:_BACKLOG_ARG], min(args[_BACKLOG_ARG], ACCEPTS_PER_WAKEUP), *args[5:])
        elif "backlog" in kwargs:
            kwargs["backlog"] = min(kwargs["backlog"], ACCEPTS_PER_WAKEUP)
        super()._accept_connection(*args, **kwargs)  # type: ignore[misc]
