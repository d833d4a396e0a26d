"""LocalStack: the real nginx in front of the real gunicorn (gunicorn.py.ini), plus the echo
service behind the gateway, as ordinary processes under one run folder.

    with LocalStack(env={"DATABASE_URL": ..., "REDIS_URL": ...}, run_dir=Path("run/e2e")) as s:
        httpx.get(f"{s.base_url}/v1/hello")
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from utils.devstack import nginx, processes
from utils.devstack.nginx import ROOT
from utils.devstack.permissions import require_world_readable

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
    ) -> None:
        self.host = host
        self.http_port = http_port
        self.api_port = api_port
        self.echo_port = echo_port
        self.run_dir = run_dir if run_dir.is_absolute() else ROOT / run_dir
        self.log_to_files = log_to_files
        merged = {**os.environ, **env}
        merged.setdefault("ENV_FILE", "")  # no dotenv unless asked: the caller's env is the truth
        # nginx and the app must share the secret; a fresh one when none is given.
        merged["GATEWAY_SECRET"] = merged.get("GATEWAY_SECRET") or secrets.token_urlsafe(24)
        merged.update(API_HOST=host, API_PORT=str(api_port), HTTP_PORT=str(http_port))
        if workers is not None:
            merged["WEB_CONCURRENCY"] = str(workers)
        self.env = merged
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

    def worker_pids(self) -> list[int]:
        return processes.children(self.gunicorn_pid)

    def _log(self, name: str) -> Path | None:
        return self.run_dir / f"{name}.log" if self.log_to_files else None

    def nginx_values(self) -> dict[str, str]:
        # No echo service: a closed port, so /services/echo/ answers 502.
        echo = f"{self.host}:{self.echo_port or 9}"
        return {
            "HTTP_LISTEN": f"{self.host}:{self.http_port}",
            "API_UPSTREAM": f"{self.host}:{self.api_port}",
            "ECHO_UPSTREAM": echo,
            "STATIC_ROOT": str(ROOT / "static"),
            "GATEWAY_SECRET": self.env["GATEWAY_SECRET"],
        }

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
            if self.echo_port is not None:
                echo = ["-m", "utils.downstream.echo", "--port", str(self.echo_port)]
                self._echo = self._spawn("echo", [sys.executable, *echo])
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
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.py.ini", "main:app"]
        self._gunicorn = self._spawn("gunicorn", argv)

    def stop_api(self) -> None:
        if self._gunicorn is not None:
            processes.stop(self._gunicorn, timeout=GUNICORN_STOP_TIMEOUT)
            self._gunicorn = None

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        return processes.spawn(argv, env=self.env, cwd=ROOT, log=self._log(name))

    def wait_until_live(self, timeout: float = 30.0, base_url: str | None = None) -> None:
        """Until /health/live answers 200 (through nginx by default); raises with the logs."""
        deadline = time.monotonic() + timeout
        url = f"{base_url or self.base_url}/health/live"
        while time.monotonic() < deadline:
            dead = [
                f"{name} ({processes.exit_reason(proc)})"
                for name, proc in self._procs().items()
                if proc is not None and processes.exited(proc)
            ]
            if dead:
                raise StackError(f"{', '.join(dead)} stopped\n{self.logs_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http URL we built)
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise StackError(f"{url} did not answer within {timeout:.0f} s\n{self.logs_tail()}")

    def wait_for_workers(
        self, count: int, timeout: float = 20.0, *, without: int | None = None
    ) -> list[int]:
        """Until `count` workers run (and `without`, e.g. a killed one, is not among them)."""
        deadline = time.monotonic() + timeout
        while len(pids := self.worker_pids()) != count or without in pids:
            if time.monotonic() > deadline:
                raise StackError(f"{len(pids)} gunicorn workers, expected {count}")
            time.sleep(0.05)
        return pids

    def logs_tail(self) -> str:
        if not self.log_to_files:
            return ""
        return "\n".join(
            f"--- {name}.log ---\n{processes.log_tail(self.run_dir / f'{name}.log')}"
            for name in ("nginx", "gunicorn", "echo")
            if (self.run_dir / f"{name}.log").exists()
        )

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
