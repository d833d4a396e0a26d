"""The fuzzer's workers parse sources one at a time: on CPython before 3.11.8 two threads that
parse together break each other (`SystemError: AST constructor recursion depth mismatch`)."""

from __future__ import annotations

import ast
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.chaos import ast_lock

SOURCE = Path(ast.__file__).read_text(encoding="utf-8")


@pytest.fixture
def serialised() -> Iterator[None]:
    ast_lock.serialise_ast_parse()
    yield
    ast.parse = ast_lock._parse


def errors_of_two_threads_parsing() -> list[str]:
    """Frequent collections, each letting the other thread run: where the bug is, it shows."""
    errors: list[str] = []

    def parse() -> None:
        for _ in range(3):
            try:
                ast.parse(SOURCE)
            except SystemError as exc:
                errors.append(str(exc))

    def switch(phase: str, info: dict[str, int]) -> None:
        time.sleep(0)

    threshold = gc.get_threshold()
    gc.set_threshold(50)
    gc.callbacks.append(switch)
    try:
        threads = [threading.Thread(target=parse) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*threshold)
    return errors


@pytest.mark.usefixtures("serialised")
def test_two_threads_parsing_at_once_never_fail() -> None:
    assert errors_of_two_threads_parsing() == []
