"""Resident memory of the serving stack (nginx and gunicorn, masters and workers), read from
/proc: sampled during overload to show that memory stays bounded."""

from __future__ import annotations

from pathlib import Path

from tools.chaos.environment import ChaosEnvironment
from tools.devstack.processes import children


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # exited
    return round(total / 1024, 1)


def stack_pids(env: ChaosEnvironment) -> list[int]:
    assert env.stack is not None
    nginx_master = int((env.run_dir / "nginx.pid").read_text())
    return [env.stack.gunicorn_pid, *env.stack.worker_pids(), nginx_master, *children(nginx_master)]
