"""argon2 hashing's memory is handed back once logins pause."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from app.auth.hash_memory import use_one_arena
from app.auth.passwords import PasswordHasherService
from app.core.settings import Settings
from tests.conftest import AppState

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator, /proc")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@linux_only
async def test_hashing_memory_goes_back_to_the_os_once_logins_pause(settings: Settings) -> None:
    hasher = PasswordHasherService(
        settings, release_memory_after=0.2, gives_memory_back=use_one_arena()
    )
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


@linux_only
def test_the_app_sets_the_allocator_up_before_its_hasher_starts(state: AppState) -> None:
    assert state.hasher.gives_memory_back
