"""`make local` runs at the same time keep apart (issue 23, finding 5): each run has its own
folder under the run directory for nginx's config, pid file, temp folders and cache, as the
end-to-end tests' stacks do (tests/e2e/conftest.py: _run_dir)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import ROOT, TestDatabase, TestRedis
from tools.devstack import local, processes, waiting

pytestmark = pytest.mark.e2e


def start(
    database: TestDatabase, redis_db: TestRedis, parent: Path, output: Path
) -> tuple[subprocess.Popen[bytes], int]:
    http_port = processes.free_port()
    env = {
        **os.environ,
        "ENV_FILE": "",
        "DATABASE_OWNER_URL": database.url,
        "DATABASE_URL": database.app_url,
        "REDIS_URL": redis_db.url,
        "HTTP_PORT": str(http_port),
        "API_PORT": str(processes.free_port()),
        "ECHO_PORT": str(processes.free_port()),
        "WEB_CONCURRENCY": "1",
        "SEED_DEMO_USER": "false",
        "GATEWAY_SECRET": secrets.token_urlsafe(16),  # part:gateway
        "EVENTS_STREAM": f"events:e2e:{secrets.token_hex(4)}",  # part:events
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.devstack.local", "--run-dir", str(parent)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=processes.signal_when_parent_dies(signal.SIGTERM),
        )

    def alive() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"the runner exited:\n{output.read_text()}")

    url = f"http://127.0.0.1:{http_port}/health/live"
    waiting.until(lambda: waiting.http_ok(url), timeout=60, what=url, check=alive)
    return process, http_port


def nginx_masters(runner: subprocess.Popen[bytes]) -> set[int]:
    found, todo = set(), [runner.pid]
    while todo:
        pid = todo.pop()
        for kid in processes.children(pid):
            title = Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ")
            if title.startswith(b"nginx: master"):
                found.add(kid)
            todo.append(kid)
    return found


@pytest.fixture
def parent() -> Iterator[Path]:
    # Under the project: nginx workers run as `nobody` when we are root.
    folder = ROOT / "run" / "e2e" / f"local-runs-{secrets.token_hex(3)}-{os.getpid()}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_two_runs_at_once_have_a_folder_each(
    database: TestDatabase, redis_db: TestRedis, parent: Path, tmp_path: Path
) -> None:
    runners: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(2):
            runner, _ = start(database, redis_db, parent, tmp_path / f"runner-{n}.log")
            runners.append(runner)
        pid_files = sorted(parent.rglob("nginx.pid"))
        assert len(pid_files) == 2, pid_files
        written = {int(path.read_text()) for path in pid_files}
        masters = [nginx_masters(runner) for runner in runners]
        assert written == masters[0] | masters[1]
        assert all(len(m) == 1 for m in masters), masters
        assert len({path.parent for path in pid_files}) == 2
        assert not (parent / "nginx.conf").exists()

        # The first one's orderly stop takes its own folder only; the second still serves.
        second_folder = next(p.parent for p in pid_files if int(p.read_text()) in masters[1])
        runners[0].send_signal(signal.SIGINT)
        runners[0].wait(60)
        assert sorted(parent.rglob("nginx.pid")) == [second_folder / "nginx.pid"]
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.send_signal(signal.SIGINT)
                try:
                    runner.wait(60)
                except subprocess.TimeoutExpired:
                    runner.kill()


def test_folders_of_runs_that_died_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name in (f"run-{dead.pid}", f"run-{os.getppid()}", "services"):
        (tmp_path / name).mkdir()
    own = local.own_run_dir(tmp_path)
    assert own == tmp_path / f"run-{os.getpid()}"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"run-{os.getppid()}", "services"])


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_the_run_folder_is_under_the_given_one(relative: bool) -> None:
    given = Path("run/local") if relative else ROOT / "run" / "local"
    assert local.own_run_dir(given) == ROOT / "run" / "local" / f"run-{os.getpid()}"
