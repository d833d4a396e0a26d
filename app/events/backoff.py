"""Capped exponential backoff with jitter for the relay's and the consumer's retry loops."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, *, first: float = 0.5, limit: float = 30.0) -> None:
        self._first = first
        self._limit = limit
        self._next = first

    def reset(self) -> None:
        self._next = self._first

    def next_delay(self) -> float:
        """The delay before the next attempt; doubles up to the limit."""
        delay = self._next
        self._next = min(self._next * 2, self._limit)
        # Jitter keeps workers that failed together from retrying in lockstep.
        return delay * random.uniform(0.8, 1.2)  # noqa: S311 (not cryptographic)
