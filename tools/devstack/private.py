"""Private PostgreSQL and Redis for `make local` and `make test` on a machine that has none.

Existing services come first: whatever answers at the URL's address is used as it is (and a
non-loopback address is never replaced). When nothing answers at a loopback address, a private
instance starts under run/ (the server packages are installed first when missing, by the one
list in tools/setup/system-packages.sh), one line says so, and `stop()` ends it. The kernel
stops them too when the runner dies (processes.spawn's die_with_parent).

    services = start_missing(database_url, redis_url, folder=ROOT / "run/services")
    try: ... services.database_url ... finally: services.stop()
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tools.devstack import processes
from tools.devstack.nginx import ROOT
from tools.devstack.servers import (
    PostgresServer,
    RedisServer,
    ServerError,
    install_missing,
    pg_bin,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def needs_private(url: str, default_port: int) -> bool:
    """Nothing answers at the URL's address, and that address is this machine's loopback."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return host in LOOPBACK and not processes.listening(host, parts.port or default_port)


def with_port(url: str, port: int) -> str:
    """The same URL on 127.0.0.1:port (credentials, database and query kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port(url: str, default_port: int, keep_port: bool) -> int:
    """The configured port when asked and free (the URL stays as the user wrote it), else any."""
    wanted = urlsplit(url).port or default_port
    return wanted if keep_port and _bindable(wanted) else processes.free_port()


@dataclass
class PrivateServices:
    database_url: str
    redis_url: str
    folder: Path
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    remove_folder: bool = False
    started: list[str] = field(default_factory=list)
    note: str = ""  # the one line that says what was started

    def stop(self) -> None:
        for server in (self.redis, self.postgres):
            if server is not None:
                server.stop()
        self.postgres = self.redis = None
        if self.remove_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_missing(
    database_url: str,
    redis_url: str,
    *,
    folder: Path,
    keep_ports: bool = True,
    remove_folder: bool = False,
    stopped_when: str = "on exit",
    say: bool = True,
) -> PrivateServices:
    """Start what does not answer; `keep_ports`: on the configured ports when they are free
    (make local: psql and the URLs in .env.local keep working); `remove_folder`: a throwaway
    (make test: the data goes with the session)."""
    services = PrivateServices(database_url, redis_url, folder, remove_folder=remove_folder)
    want_postgres = needs_private(database_url, 5432)
    want_redis = needs_private(redis_url, 6379)
    if not (want_postgres or want_redis):
        return services
    missing = [
        tool
        for tool, wanted in (("initdb", want_postgres), ("redis-server", want_redis))
        if wanted and not _installed(tool)
    ]
    if missing:
        install_missing(*missing)
    try:
        if want_postgres:
            port = _port(database_url, 5432, keep_ports)
            superuser = urlsplit(database_url).username or "postgres"
            data = folder / "postgres" / "data"
            services.postgres = PostgresServer(data, port, superuser=superuser)
            services.postgres.initdb()
            services.postgres.start()
            services.database_url = with_port(database_url, port)
            services.started.append(f"PostgreSQL on 127.0.0.1:{port}")
        if want_redis:
            port = _port(redis_url, 6379, keep_ports)
            services.redis = RedisServer(folder / "redis", port)
            services.redis.start()
            services.redis_url = with_port(redis_url, port)
            services.started.append(f"Redis on 127.0.0.1:{port}")
    except BaseException:
        services.stop()
        raise
    services.note = (
        f"no PostgreSQL/Redis answering at the configured address: private "
        f"{', '.join(services.started)} under {_shown(folder)}, stopped {stopped_when}"
    )
    if say:
        print(services.note, flush=True)
    return services


def for_test_session(admin_url: str, redis_url: str) -> PrivateServices:
    """`make test`: private instances when needed, on free ports (sessions running at the same
    time keep apart) in run/test-services/<pid>, removed at exit; the conftest shows the note
    (pytest holds back what is printed while it loads). Subprocesses of the session find them
    through TEST_DATABASE_URL / TEST_REDIS_URL."""
    parent = ROOT / "run" / "test-services"
    for old in parent.glob("*"):  # left by sessions that were killed
        if old.name.isdigit() and not Path(f"/proc/{old.name}").exists():
            shutil.rmtree(old, ignore_errors=True)
    services = start_missing(
        admin_url,
        redis_url,
        folder=parent / str(os.getpid()),
        keep_ports=False,
        remove_folder=True,
        stopped_when="when the tests end",
        say=False,
    )
    if services.started:
        atexit.register(services.stop)
        os.environ["TEST_DATABASE_URL"] = services.database_url
        os.environ["TEST_REDIS_URL"] = services.redis_url
    return services


def _installed(tool: str) -> bool:
    if tool == "initdb":
        with contextlib.suppress(ServerError):
            return (pg_bin() / "initdb").exists()
        return False
    return shutil.which(tool) is not None


def _shown(folder: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(folder.relative_to(Path.cwd()))
    return str(folder)
