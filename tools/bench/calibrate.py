"""The cost of one argon2id verification with the app's parameters, measured on this machine:
the unit of the login targets."""

from __future__ import annotations

import statistics
import time

from app.core.settings import Settings
from tools.bench.seed import SEED_PASSWORD, hasher_for


def argon2_verify_ms(settings: Settings, *, rounds: int) -> float:
    hasher = hasher_for(settings)
    stored = hasher.hash(SEED_PASSWORD)
    hasher.verify(stored, SEED_PASSWORD)  # warm-up: first allocation of the memory block
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(stored, SEED_PASSWORD)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
