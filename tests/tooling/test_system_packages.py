"""tools/setup/system-packages.sh: the one list of system tools `make install` and .ci/run use.

A missing tool is simulated with an empty PATH (bash builtins are all the script needs to decide);
`--dry-run` shows the install command instead of changing the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import ROOT

SCRIPT = ROOT / "tools" / "setup" / "system-packages.sh"
DEBIAN_ROOT = Path("/etc/debian_version").exists() and os.geteuid() == 0


def run(*args: str, path: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ["/bin/bash", str(SCRIPT), *args]
    if user is not None:
        command = [shutil.which("runuser") or "runuser", "-u", user, "--", *command]
    env = {"PATH": path}
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def test_present_tools_need_no_installer() -> None:
    result = run("-v", "--dry-run", path=os.environ["PATH"] + ":/usr/sbin")
    assert result.returncode == 0, result.stderr
    assert "would run" not in result.stdout
    assert "present: nginx wrk redis-server initdb make redis-cli pgbouncer" in result.stdout


@pytest.mark.skipif(not DEBIAN_ROOT, reason="the apt-get path runs as root on Debian/Ubuntu")
def test_root_on_debian_installs_only_the_missing_tools_with_apt_get(tmp_path: Path) -> None:
    result = run("--dry-run", "wrk", "redis-server", "nginx", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "would run: apt-get install -y -qq --no-install-recommends wrk redis-server\n" in (
        result.stdout
    )  # nginx is found in /usr/sbin, off PATH


@pytest.mark.skipif(not DEBIAN_ROOT, reason="needs root to run the script as another user")
def test_a_user_who_cannot_install_gets_one_line_naming_the_command(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    result = run("wrk", path=str(tmp_path), user="nobody")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"missing: wrk; run: sudo {SCRIPT} wrk\n"


def test_skip_system_packages_skips_the_step(tmp_path: Path) -> None:
    command = ["/bin/bash", str(SCRIPT), "--dry-run", "wrk"]
    env = {"PATH": str(tmp_path), "SKIP_SYSTEM_PACKAGES": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")
