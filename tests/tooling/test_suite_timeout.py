"""The suite's per-test time limit (pytest-timeout, `timeout` in pyproject.toml): a hanging
test fails with its stack, and the run goes on to the next test."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANGING = """
import asyncio


async def test_hangs() -> None:
    await asyncio.Event().wait()


def test_after_the_hang() -> None:
    assert True
"""


def test_the_suite_has_a_per_test_time_limit() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert 60 <= int(options["ini_options"]["timeout"]) <= 600


def test_a_hanging_async_test_fails_with_its_stack_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "test_hanging.py").write_text(HANGING)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=1",
            str(tmp_path / "test_hanging.py"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Timeout" in run.stdout
    assert "1 failed, 1 passed" in run.stdout
