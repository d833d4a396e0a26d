"""`make local`'s runner (tools/devstack/local.py) as a user meets it: its processes, their
titles and output, and what is left when the runner goes away.

Each runner gets free ports, its own run folder and the session's scratch database."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services import ROOT, TestDatabase, TestRedis, as_app_user
from tools.devstack import processes, waiting

pytestmark = pytest.mark.e2e

GRACEFUL_TIMEOUT = 20.0  # gunicorn.py.ini's graceful_timeout: the longest a stop may take


@dataclass
class Runner:
    process: subprocess.Popen[bytes]
    ports: tuple[int, int, int]  # nginx, gunicorn, echo
    output: Path
    run_dir: Path

    def descendants(self) -> list[int]:
        found, todo = [], [self.process.pid]
        while todo:
            kids = processes.children(todo.pop())
            found += kids
            todo += kids
        return found

    def titles(self) -> list[str]:
        return [_cmdline(pid) for pid in self.descendants()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_runner(
    database: TestDatabase, redis_db: TestRedis, folder: Path, **overrides: str
) -> Runner:
    ports = (processes.free_port(), processes.free_port(), processes.free_port())
    env = {
        **os.environ,
        "ENV_FILE": "",
        "DATABASE_OWNER_URL": database.url,
        "DATABASE_URL": database.app_url,
        "REDIS_URL": redis_db.url,
        "HTTP_PORT": str(ports[0]),
        "API_PORT": str(ports[1]),
        "ECHO_PORT": str(ports[2]),
        "WEB_CONCURRENCY": "2",
        "SEED_DEMO_USER": "false",
        "GATEWAY_SECRET": secrets.token_urlsafe(16),  # part:gateway
        "EVENTS_STREAM": f"events:e2e:{secrets.token_hex(4)}",  # part:events
        **overrides,
    }
    output = folder / "runner.log"
    # Under the project (like run/e2e): nginx workers run as `nobody` when we are root, and a
    # pytest tmp folder is private to us.
    run_dir = ROOT / "run" / "e2e" / f"runner-{secrets.token_hex(3)}-{os.getpid()}"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.devstack.local", "--run-dir", str(run_dir)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # like a terminal's job: our signals only
            # A killed test session (a timeout) takes its runner along.
            preexec_fn=processes.signal_when_parent_dies(signal.SIGTERM),
        )
    runner = Runner(process, ports, output, run_dir)

    def runner_alive() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"the runner exited:\n{output.read_text()}")

    url = f"http://127.0.0.1:{ports[0]}/health/live"
    try:
        waiting.until(lambda: waiting.http_ok(url), timeout=60, what=url, check=runner_alive)
    except BaseException:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        raise
    return runner


def stop_leftovers(runner: Runner, pids: list[int]) -> None:
    """After a test: nothing of this runner may outlive it, whatever the test found."""
    if runner.process.poll() is None:
        runner.process.kill()
    runner.process.wait()
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(runner.run_dir, ignore_errors=True)


@pytest.fixture
def runner(database: TestDatabase, redis_db: TestRedis, tmp_path: Path) -> Iterator[Runner]:
    started = start_runner(database, redis_db, tmp_path)
    pids = started.descendants()
    yield started
    stop_leftovers(started, pids)


@pytest.fixture(scope="module")
def shared_runner(
    database: TestDatabase, redis_db: TestRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    started = start_runner(database, redis_db, tmp_path_factory.mktemp("runner"))
    pids = started.descendants()
    yield started
    started.process.send_signal(signal.SIGINT)  # the orderly stop, then a check for leftovers
    with contextlib.suppress(subprocess.TimeoutExpired):
        started.process.wait(60)
    stop_leftovers(started, pids)


def assert_everything_stops(
    runner: Runner, pids: list[int], sig: signal.Signals, *more_ports: int
) -> None:
    start = time.monotonic()
    runner.process.send_signal(sig)
    while time.monotonic() - start < GRACEFUL_TIMEOUT:
        alive = [pid for pid in pids if _alive(pid)]
        listening = [port for port in [*runner.ports, *more_ports] if _listening(port)]
        if not alive and not listening:
            return
        time.sleep(0.1)
    raise AssertionError(
        f"{GRACEFUL_TIMEOUT:.0f} s after {sig.name}: still running {[_cmdline(p) for p in alive]}"
        f", ports still open {listening}"
    )


@pytest.mark.parametrize(
    "sig", [signal.SIGHUP, signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name
)
def test_the_stack_stops_with_its_runner(runner: Runner, sig: signal.Signals) -> None:
    pids = runner.descendants()
    titles = " | ".join(runner.titles())
    # nginx master and workers, gunicorn master and workers, echo: all must go.
    assert "nginx: worker process" in titles
    assert "worker [" in titles
    assert "tools.downstream.echo" in titles  # part:gateway
    assert_everything_stops(runner, pids, sig)


def test_gunicorn_processes_carry_the_configured_name(shared_runner: Runner) -> None:
    titles = shared_runner.titles()
    master = [t for t in titles if t.startswith("gunicorn: master [")]
    workers = [t for t in titles if t.startswith("gunicorn: worker [")]
    assert master == ["gunicorn: master [fastapi-template]"], titles
    assert workers == ["gunicorn: worker [fastapi-template]"] * 2, titles


def test_gunicorn_starts_without_a_config_file_warning(shared_runner: Runner) -> None:
    output = shared_runner.output.read_text()
    assert "Starting gunicorn" in output
    assert "WARNING" not in output.upper().split("STARTING GUNICORN")[0]
    assert "valid Python extension" not in output


def test_without_services_the_runner_brings_private_ones_that_die_with_it(
    database: TestDatabase, redis_db: TestRedis, tmp_path: Path
) -> None:
    """A machine with no PostgreSQL or Redis (closed ports): the stack serves a login (database
    and Redis at work), and a killed runner takes the private servers along."""
    db_port, redis_port = processes.free_port(), processes.free_port()
    password = secrets.token_urlsafe(12)
    runner = start_runner(
        database,
        redis_db,
        tmp_path,
        DATABASE_OWNER_URL=f"postgresql://postgres@127.0.0.1:{db_port}/app",
        DATABASE_URL=as_app_user(f"postgresql://postgres@127.0.0.1:{db_port}/app"),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        SEED_DEMO_USER="true",
        DEMO_USERNAME="demo",
        DEMO_PASSWORD=password,
    )
    pids = runner.descendants()
    try:
        assert "private PostgreSQL on 127.0.0.1:" in runner.output.read_text()
        login = {"username": "demo", "password": password}
        response = httpx.post(f"http://127.0.0.1:{runner.ports[0]}/login", json=login)
        assert response.status_code == 200, response.text
        assert any(_cmdline(pid).startswith("redis-server") for pid in pids)
        assert_everything_stops(runner, pids, signal.SIGKILL, db_port, redis_port)
    finally:
        stop_leftovers(runner, pids)
