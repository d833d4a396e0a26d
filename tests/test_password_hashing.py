"""How argon2 hashing shares the worker: a lower CPU priority than request handling, and its
memory handed back once logins pause."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

from app.auth.passwords import HASHING_NICENESS, PasswordHasherService
from app.settings import Settings
from app.state import AppState

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="Linux thread priorities, glibc")


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
async def test_hashing_threads_yield_the_cpu_to_request_handling(state: AppState) -> None:
    loop_niceness = _own_niceness()
    hashing_niceness = await state.hasher._in_thread(_own_niceness)
    assert hashing_niceness == min(loop_niceness + HASHING_NICENESS, 19)
    assert _own_niceness() == loop_niceness  # the event loop's thread is untouched


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@linux_only
async def test_hashing_memory_goes_back_to_the_os_once_logins_pause(settings: Settings) -> None:
    hasher = PasswordHasherService(settings, release_memory_after=0.2)
    try:
        stored = await hasher.hash("correct horse battery")
        for _ in range(3):
            assert await hasher.verify(stored, "correct horse battery")
        while_busy = _rss_mib()
        await asyncio.sleep(0.6)
        after_pause = _rss_mib()
    finally:
        hasher.close()
    block_mib = settings.argon2_memory_kib / 1024
    assert while_busy - after_pause >= 0.75 * block_mib, (while_busy, after_pause)
