"""Flame graphs of the workers while a case runs: py-spy (a sampling profiler that attaches to a
running process from outside, so the measured code stays unchanged) records each worker for the
length of one run and writes an SVG."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

RATE_HZ = 250


def py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")  # installed into the venv (dev dependency)
    return str(beside) if beside.exists() else shutil.which("py-spy") or "py-spy"


def start(
    pids: list[int], duration_s: float, prefix: Path
) -> list[tuple[Path, subprocess.Popen[bytes]]]:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    running = []
    for pid in pids:
        out = prefix.with_name(f"{prefix.name}-worker{pid}.svg")
        cmd = [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(duration_s))),
            "--rate",
            str(RATE_HZ),
            "--format",
            "flamegraph",
            "--output",
            str(out),
            # Sample without stopping the worker: the profile must not slow what it measures.
            "--nonblocking",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        running.append((out, proc))
    return running


def finish(running: list[tuple[Path, subprocess.Popen[bytes]]]) -> list[str]:
    """Wait for the profilers; the graphs written, or why one is missing."""
    report = []
    for out, proc in running:
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            report.append(f"{out.name}: py-spy did not finish")
            continue
        if proc.returncode == 0 and out.exists():
            report.append(str(out))
        else:
            report.append(
                f"{out.name}: py-spy failed ({err.decode(errors='replace').strip()[-300:]})"
            )
    return report
