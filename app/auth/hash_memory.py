"""Giving argon2's working memory back to the OS once logins stop (glibc only).

Each verification allocates `argon2_memory_kib` and frees it. glibc keeps freed blocks
for reuse: a hashing thread's own arena keeps its last block for the life of the worker, and
`malloc_trim` cannot shrink a thread arena's top. With a single arena the block comes back to
the main heap, and `malloc_trim(0)` returns it. Reusing it while logins keep coming is what makes
back-to-back hashes fast, so the trim only runs after a pause (PasswordHasherService); the
measured effect is in docs/benchmark.md ("Figures behind the defaults").
"""

from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    libc = ctypes.CDLL(None)
    if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
        return libc
    return None  # musl, macOS: their allocators give large blocks back by themselves


_LIBC = _glibc()


def use_one_arena() -> bool:
    """Let every thread allocate from the main arena (set before the hashing threads start)."""
    return _LIBC is not None and _LIBC.mallopt(_M_ARENA_MAX, 1) == 1


def release_free_memory() -> None:
    """Return the pages of freed blocks to the OS. Takes the allocator's lock: run it off the
    event loop."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
