"""CPython before 3.11.8 keeps the AST constructor's recursion depth in state that all threads
share (gh-106905): an `ast.parse` that another thread interrupts fails with `SystemError: AST
constructor recursion depth mismatch`. Hypothesis parses a module's source to describe a lambda
the first time it meets one, and the fuzzer's two schemathesis workers met those of the same
module together once two operations had path or query parameters. The fuzzer's process parses
one source at a time (`serialise_ast_parse()`, from the hooks module)."""

from __future__ import annotations

import ast
import threading
from typing import Any

_parse = ast.parse
_one_at_a_time = threading.Lock()


def _serialised_parse(*args: Any, **kwargs: Any) -> Any:
    with _one_at_a_time:
        return _parse(*args, **kwargs)


def serialise_ast_parse() -> None:
    ast.parse = _serialised_parse
