"""How many CPUs this process may really use: the gunicorn worker count's default.

`os.cpu_count()` is the host's core count; a container limited with `--cpus 2` (a CFS quota) on a
64-core host must not start 64 workers. Pinning (cpuset, taskset) counts too.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _quota(quota: str, period: str) -> float | None:
    """CPUs granted by one quota/period pair; None when unlimited ("max" or -1)."""
    if quota in ("max", "-1"):
        return None
    return int(quota) / int(period)


def _own_cgroup_dirs(controller: str | None, root: Path, proc_cgroup: Path) -> list[Path]:
    """The process's cgroup folder and its parents (a parent's quota limits us too)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return [root]
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or controller in controllers.split(","):
            own = root / path.lstrip("/")
            return [own, *(p for p in own.parents if p.is_relative_to(root))]
    return [root]


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota over our cgroup and its parents (v2 and v1), None if unlimited."""
    limits: list[float] = []
    for folder in _own_cgroup_dirs(None, root, proc_cgroup):  # cgroup v2
        try:
            limit = _quota(*(folder / "cpu.max").read_text().split())
        except (OSError, ValueError, TypeError):
            continue
        if limit is not None:
            limits.append(limit)
    for mount in (root / "cpu", root / "cpu,cpuacct"):  # cgroup v1
        for folder in _own_cgroup_dirs("cpu", mount, proc_cgroup):
            try:
                quota = (folder / "cpu.cfs_quota_us").read_text().strip()
                period = (folder / "cpu.cfs_period_us").read_text().strip()
                limit = _quota(quota, period)
            except (OSError, ValueError):
                continue
            if limit is not None:
                limits.append(limit)
    return min(limits) if limits else None


def usable_cpus() -> int:
    limit = cgroup_cpu_limit()
    count = _affinity()
    if limit is not None:
        count = min(count, math.ceil(limit))
    return max(1, count)


if __name__ == "__main__":
    print(usable_cpus())
