"""The short fuzz run of CI: schemathesis against the app's own OpenAPI document, through the
real nginx and gunicorn, with a real token (`make fuzz` is the same run with more examples)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tools.chaos.fuzz import REQUEST_TIMEOUT, run_fuzz

pytestmark = pytest.mark.e2e

EXAMPLES = 8  # per operation; with schemathesis's coverage phase about 150-250 requests
SEED = 20261127  # a fixed seed keeps CI reproducible; `make fuzz` draws a new one each run


async def test_fuzzed_requests_get_documented_answers_and_never_a_5xx() -> None:
    result = await asyncio.to_thread(run_fuzz, Path("run/fuzz-test"), EXAMPLES, SEED)
    assert result.exit_code == 0, f"{result.describe()}\n{result.output_tail}"
    assert result.access.requests >= 100, result.describe()
    assert result.access.server_errors == 0, result.describe()
    assert result.access.max_seconds < REQUEST_TIMEOUT, result.describe()  # nothing hung
    assert not result.token_leaks, "a bearer token or password reached a log file"
