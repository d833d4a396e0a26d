"""LocalStack: the real nginx in front of the real gunicorn (gunicorn.py.ini), plus the echo
service behind the gateway, as ordinary processes under one run folder.

    with LocalStack(env={"DATABASE_URL": ..., "REDIS_URL": ...}, run_dir=Path("run/e2e")) as s:
        httpx.get(f"{s.base_url}/v1/hello")
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from tools.devstack import nginx, processes, waiting
from tools.devstack.environment import process_env, require_world_readable
from tools.devstack.nginx import ROOT

GUNICORN_STOP_TIMEOUT = 30.0  # above gunicorn's graceful_timeout (20 s)


class StackError(RuntimeError):
    pass


class LocalStack:
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        http_port: int = 8080,
        api_port: int = 8000,
        workers: int | None = None,
        run_dir: Path = Path("run/local"),
        echo_port: int | None = None,
        host: str = "127.0.0.1",
        log_to_files: bool = True,
        die_with_runner: bool = False,
    ) -> None:
        self.host = host
        self.http_port = http_port
        self.api_port = api_port
        self.echo_port = echo_port
        self.status_port = processes.free_port(host)  # nginx's stub_status
        self.run_dir = run_dir if run_dir.is_absolute() else ROOT / run_dir
        self.log_to_files = log_to_files
        # `make local`: nginx, gunicorn and echo get SIGTERM (a graceful stop) from the kernel
        # when the runner dies without stopping them (SIGKILL). Off for stacks that tests start
        # from worker threads: the signal follows the starting thread, not the process.
        self.die_with_runner = die_with_runner
        self.env = process_env(env, host=host, api_port=api_port, http_port=http_port)
        if workers is not None:
            self.env["WEB_CONCURRENCY"] = str(workers)
        self._gunicorn: subprocess.Popen[bytes] | None = None
        self._nginx: subprocess.Popen[bytes] | None = None
        self._echo: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def gunicorn_pid(self) -> int:
        if self._gunicorn is None:
            raise StackError("gunicorn is not running")
        return self._gunicorn.pid

    @property
    def nginx_pid(self) -> int:
        if self._nginx is None:
            raise StackError("nginx is not running")
        return self._nginx.pid

    def worker_pids(self) -> list[int]:
        return processes.children(self.gunicorn_pid)

    def _log(self, name: str) -> Path | None:
        return self.run_dir / f"{name}.log" if self.log_to_files else None

    def nginx_values(self) -> dict[str, str]:
        return nginx.host_values(
            self.host,
            self.http_port,
            self.api_port,
            self.status_port,
            echo_port=self.echo_port,  # part:gateway
            gateway_secret=self.env["GATEWAY_SECRET"],  # part:gateway
        )

    def start(self, timeout: float = 30.0) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The micro-cache survives on disk; a new stack must not answer from an old one.
        shutil.rmtree(self.run_dir / "cache", ignore_errors=True)
        if os.geteuid() == 0:  # nginx workers then run as `nobody`
            require_world_readable(ROOT / "static")
        conf = nginx.write_config(self.run_dir, self.nginx_values())
        nginx.check(self.run_dir, conf)
        try:
            self.start_api()
            # >>> part:gateway
            if self.echo_port is not None:
                echo = ["-m", "tools.downstream.echo", "--port", str(self.echo_port)]
                self._echo = self._spawn("echo", [sys.executable, *echo])
            # <<< part:gateway
            # gunicorn first, then nginx: no 502s in the logs while workers boot.
            self.wait_until_live(timeout, self.api_url)
            command = nginx.command(self.run_dir, conf, "-g", "daemon off;")
            self._nginx = self._spawn("nginx", command)
            self.wait_until_live(timeout)
        except BaseException:
            self.stop()
            raise

    def start_api(self) -> None:
        """(Re)start gunicorn; nginx keeps running (tests stop the API to see 502)."""
        config = "python:utils.gunicorn_config"  # gunicorn.py.ini; the module says why
        argv = [sys.executable, "-m", "gunicorn", "-c", config, "main:app"]
        self._gunicorn = self._spawn("gunicorn", argv)

    def stop_api(self) -> None:
        if self._gunicorn is not None:
            processes.stop(self._gunicorn, timeout=GUNICORN_STOP_TIMEOUT)
            self._gunicorn = None

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        death_signal = signal.SIGTERM if self.die_with_runner else None
        return processes.spawn(
            argv, env=self.env, cwd=ROOT, log=self._log(name), die_with_parent=death_signal
        )

    def wait_until_live(self, timeout: float = 30.0, base_url: str | None = None) -> None:
        """Until /health/live answers 200 (through nginx by default); raises with the logs."""
        url = f"{base_url or self.base_url}/health/live"
        try:
            waiting.until(
                lambda: waiting.http_ok(url), timeout=timeout, what=url, check=self._check_alive
            )
        except TimeoutError as exc:
            raise StackError(f"{exc}\n{self.logs_tail()}") from None

    def _check_alive(self) -> None:
        dead = [
            f"{name} ({processes.exit_reason(proc)})"
            for name, proc in self._procs().items()
            if proc is not None and processes.exited(proc)
        ]
        if dead:
            raise StackError(f"{', '.join(dead)} stopped\n{self.logs_tail()}")

    def wait_for_workers(
        self, count: int, timeout: float = 20.0, *, without: int | None = None
    ) -> list[int]:
        """Until `count` workers run (and `without`, e.g. a killed one, is not among them)."""

        def ready() -> list[int] | None:
            pids = self.worker_pids()
            return pids if len(pids) == count and without not in pids else None

        return waiting.until(ready, timeout=timeout, what=f"{count} gunicorn workers")

    def logs_tail(self) -> str:
        names = ("nginx", "gunicorn", "echo") if self.log_to_files else ()
        return processes.logs_tail(self.run_dir, names)

    def all_running(self) -> bool:
        return not any(p is not None and processes.exited(p) for p in self._procs().values())

    def _procs(self) -> dict[str, subprocess.Popen[bytes] | None]:
        return {"nginx": self._nginx, "gunicorn": self._gunicorn, "echo": self._echo}

    def stop(self) -> None:
        """nginx first (no new requests), then gunicorn (graceful), then echo."""
        if self._nginx is not None:
            processes.stop(self._nginx, timeout=10)
            self._nginx = None
        self.stop_api()
        if self._echo is not None:
            processes.stop(self._echo, timeout=5)
            self._echo = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
