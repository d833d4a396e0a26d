"""The default gunicorn worker count follows the CPU quota, not the host's core count."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils import cpus


def _tree(tmp_path: Path, files: dict[str, str], proc: str) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    proc_cgroup = tmp_path / "proc-self-cgroup"
    proc_cgroup.write_text(proc)
    return root, proc_cgroup


@pytest.mark.parametrize(
    ("files", "proc", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, "0::/\n", None),
        ({"cpu.max": "150000 100000\n"}, "0::/\n", 1.5),
        # A parent's quota limits its children (systemd slice around a container).
        ({"a/cpu.max": "200000 100000\n", "a/b/cpu.max": "max 100000\n"}, "0::/a/b\n", 2.0),
        (
            {"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"},
            "4:cpu,cpuacct:/\n0::/\n",
            0.5,
        ),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "4:cpu:/\n", None),
    ],
    ids=["v2-unlimited", "v2-quota", "v2-parent-quota", "v1-quota", "v1-unlimited"],
)
def test_cgroup_cpu_limit(
    tmp_path: Path, files: dict[str, str], proc: str, expected: float | None
) -> None:
    root, proc_cgroup = _tree(tmp_path, files, proc)
    assert cpus.cgroup_cpu_limit(root, proc_cgroup) == expected


def test_usable_cpus_rounds_a_quota_up_and_never_exceeds_affinity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpus, "_affinity", lambda: 8)
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 1.5)
    assert cpus.usable_cpus() == 2
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 64.0)
    assert cpus.usable_cpus() == 8
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 0.1)
    assert cpus.usable_cpus() == 1
