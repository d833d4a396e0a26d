"""Polling with a deadline, for processes that take a moment to come up or to be replaced."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    check: Callable[[], None] | None = None,
) -> T:
    """Call `probe` until it returns a value (not None). `check` may raise to give up early
    (a process died); TimeoutError names `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_ok(url: str) -> bool | None:
    """True when `url` answers 200 now; None otherwise (the shape `until` expects)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http URLs we build)
            return True if response.status == 200 else None
    except OSError:
        return None
