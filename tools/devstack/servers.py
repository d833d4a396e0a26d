"""A PostgreSQL cluster and a redis-server as child processes of the caller, on loopback only.

The private instances of `make local` and `make test` (tools/devstack/private.py) and the
throwaway servers of tests and tools (tools/devstack/throwaway.py) find the programs here. The
servers run in the foreground as our children (not daemonised by pg_ctl), so the kernel can
stop them when we die (processes.spawn's die_with_parent) and a stop is a signal and a wait.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
from pathlib import Path

from tools.devstack import processes, waiting
from tools.devstack.nginx import ROOT

SYSTEM_PACKAGES = ROOT / "tools" / "setup" / "system-packages.sh"
# initdb and postgres refuse to run as root; Debian's package creates this user.
POSTGRES_USER = "postgres" if os.geteuid() == 0 else None
_PG_BIN_GLOBS = (
    "/usr/lib/postgresql/*/bin",  # Debian/Ubuntu: off PATH
    "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew's versioned formulae are keg-only
    "/usr/local/opt/postgresql@*/bin",
)


class ServerError(RuntimeError):
    pass


def pg_bin() -> Path:
    """PG_BIN, else the directory of `initdb` on PATH, else the newest packaged install."""
    if "PG_BIN" in os.environ:
        return Path(os.environ["PG_BIN"])
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        (path for pattern in _PG_BIN_GLOBS for path in Path("/").glob(pattern.lstrip("/"))),
        key=lambda path: [int(number) for number in re.findall(r"\d+", str(path))],
    )
    if not candidates:
        raise ServerError("PostgreSQL server programs not found: install postgresql or set PG_BIN")
    return candidates[-1]


def install_missing(*tools: str) -> None:
    """The one list's installer for `tools` (see tools/setup/system-packages.sh); it says what
    to run when it cannot install them itself."""
    result = subprocess.run([str(SYSTEM_PACKAGES), *tools], check=False)  # noqa: S603
    if result.returncode != 0:
        raise ServerError(f"{', '.join(tools)} missing (the line above says how to install)")


def as_postgres_user(command: list[str]) -> list[str]:
    """For one-shot programs (initdb, pg_ctl) when we are root."""
    return ["runuser", "-u", POSTGRES_USER, "--", *command] if POSTGRES_USER else command


class _ServerProcess:
    """A server running as our child: its log's tail when it dies, its pid, its stop."""

    name = "server"
    stop_signal = signal.SIGTERM
    stop_timeout = 10.0
    log: Path
    _process: subprocess.Popen[bytes] | None

    def _check_alive(self) -> None:
        if self._process is not None and processes.exited(self._process):
            tail = processes.log_tail(self.log, 15)
            raise ServerError(f"{self.name} {processes.exit_reason(self._process)}:\n{tail}")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process is not None:
            processes.stop(self._process, sig=self.stop_signal, timeout=self.stop_timeout)
            self._process = None


class PostgresServer(_ServerProcess):
    """`postgres -D data` on 127.0.0.1:port, trust auth for `superuser` on loopback."""

    name = "postgres"
    # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data stays consistent.
    stop_signal = signal.SIGINT
    stop_timeout = 30.0

    def __init__(self, data: Path, port: int, *, superuser: str = "postgres") -> None:
        self.data = data
        self.port = port
        self.superuser = superuser
        self.log = data.parent / "postgres.log"
        self._process: subprocess.Popen[bytes] | None = None

    def initdb(self) -> None:
        """Once: a data directory that exists is used as it is (make local keeps its data)."""
        if (self.data / "PG_VERSION").exists():
            return
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if POSTGRES_USER:
            for folder in self.data.parent.resolve().parents:
                if not folder.stat().st_mode & stat.S_IXOTH:
                    raise ServerError(f"user {POSTGRES_USER} cannot reach {folder}: chmod o+x it")
            shutil.chown(self.data.parent, POSTGRES_USER, POSTGRES_USER)
        command = [str(pg_bin() / "initdb"), "-D", str(self.data), "-U", self.superuser]
        result = subprocess.run(  # noqa: S603 (fixed argv)
            as_postgres_user([*command, "-A", "trust", "--no-sync", "-E", "UTF8"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float = 30.0) -> None:
        argv = [str(pg_bin() / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
        # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data stays consistent.
        self._process = processes.spawn(
            argv,
            env=os.environ,
            cwd=self.data.parent,
            log=self.log,
            die_with_parent=signal.SIGINT,
            user=POSTGRES_USER,
        )
        ready = [str(pg_bin() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        try:
            waiting.until(
                lambda: subprocess.run(ready, check=False).returncode == 0 or None,  # noqa: S603
                timeout=timeout,
                interval=0.1,
                what=f"PostgreSQL on 127.0.0.1:{self.port}",
                check=self._check_alive,
            )
        except BaseException:
            self.stop()
            raise


class RedisServer(_ServerProcess):
    """redis-server on 127.0.0.1:port that keeps nothing on disk."""

    name = "redis-server"

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self._process = processes.spawn(
            argv, env=os.environ, cwd=self.folder, log=self.log, die_with_parent=signal.SIGTERM
        )
        try:
            waiting.until(
                lambda: processes.listening("127.0.0.1", self.port) or None,
                timeout=timeout,
                what=f"Redis on 127.0.0.1:{self.port}",
                check=self._check_alive,
            )
        except BaseException:
            self.stop()
            raise
