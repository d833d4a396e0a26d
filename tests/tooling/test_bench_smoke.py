"""The benchmark script must not rot: its 3-second smoke (what CI runs instead of the full
benchmark) drives every case through the real stack and writes a JSON result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.services import ADMIN_URL
from tools.bench.cases import CASES

ROOT = Path(__file__).resolve().parents[2]
# The benchmark refuses a non-empty index (it deletes all of its keys at the end) and the suite
# uses 15: take the first empty index from 13 down, unless one is given.
SMOKE_REDIS_BASE = "redis://127.0.0.1:6379"


def free_redis_url() -> str:
    if "BENCH_SMOKE_REDIS_URL" in os.environ:
        return os.environ["BENCH_SMOKE_REDIS_URL"]
    for index in range(13, 0, -1):
        client = redis.Redis.from_url(f"{SMOKE_REDIS_BASE}/{index}", socket_timeout=5)
        try:
            if client.dbsize() == 0:
                return f"{SMOKE_REDIS_BASE}/{index}"
        finally:
            client.close()
    pytest.fail("no empty Redis DB index among 1-13 for the benchmark smoke")


BUDGET_S = 40
# Every case runs this long: 2 s is enough to prove it works, and keeps the smoke in its budget.
SMOKE_DURATION = "2"
TAKEN = "needs an empty index"  # the index was found empty, then taken before the run claimed it


def run_bench(args: list[str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """`python -m tools.bench --smoke ARGS` on a free Redis index (another one if somebody took
    the chosen index in between). On timeout the run gets SIGTERM, so that it stops what it
    started and removes its database and keys, before the test fails."""
    for _ in range(3):
        argv = [sys.executable, "-m", "tools.bench", "--smoke", "--duration", SMOKE_DURATION]
        argv += ["--redis-url", free_redis_url(), "--admin-database-url", ADMIN_URL, *args]
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
            stdout, stderr = proc.communicate(timeout=120)
            pytest.fail(f"the benchmark ran over {timeout_s:.0f} s\n{stdout}\n{stderr[-4000:]}")
        if not (proc.returncode == 2 and TAKEN in stderr):
            break
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


@pytest.mark.e2e
def test_bench_smoke_runs_every_case_without_errors(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: `apt-get install wrk` (CI installs it)")
    output = tmp_path / "bench.json"
    started = time.monotonic()
    proc = run_bench(["--output", str(output)], timeout_s=BUDGET_S + 30)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert elapsed < BUDGET_S, f"the smoke took {elapsed:.0f} s (budget {BUDGET_S} s)"

    result = json.loads(output.read_text())
    measured = {c["case"]: c for c in result["cases"]}
    assert set(measured) == {case.name for case in CASES}
    for name, case in measured.items():
        assert case["requests"] > 0, name
        assert case["socket_errors"] == 0, (name, case["runs"])
        assert case["non_2xx"] == 0, (name, case["runs"])
    assert result["argon2_verify_ms"] > 0
    assert result["rss_after_mb_per_worker"], "no gunicorn worker RSS was read"
    assert result["targets"], "no target was evaluated"
