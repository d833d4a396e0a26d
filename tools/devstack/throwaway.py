"""Throwaway redis-server and PostgreSQL cluster on spare ports, for fault tests: the test
stops them, checks the 503s, starts them again and checks the recovery."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tools.devstack.servers import as_postgres_user, pg_bin

PG_BIN = pg_bin()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ExitedAtStart(RuntimeError):
    """The server exited before it listened: most often its port was taken in the meantime."""


def wait_for_port(
    port: int, timeout: float = 10.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise ExitedAtStart(f"exited with {process.returncode} before listening on {port}")
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class ThrowawayRedis:
    def __init__(self, *extra_args: str) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None

    START_ATTEMPTS = 3

    def start(self) -> None:
        """A free port can be taken between choosing it and binding it: then new ports."""
        for attempt in range(1, self.START_ATTEMPTS + 1):
            self._process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    *self._extra_args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                # A cluster node binds its bus port after its data port and exits when that
                # one is taken: started means every port it serves listens.
                for port in self._ports():
                    wait_for_port(port, process=self._process)
                return
            except ExitedAtStart:
                self._process = None
                if attempt == self.START_ATTEMPTS:
                    raise
                self._choose_new_ports()

    def _ports(self) -> list[int]:
        args = list(self._extra_args)
        if "--cluster-port" not in args:
            return [self.port]
        return [self.port, int(args[args.index("--cluster-port") + 1])]

    def _choose_new_ports(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        args = list(self._extra_args)
        if "--cluster-port" in args:  # the cluster bus port may have been the taken one
            args[args.index("--cluster-port") + 1] = str(free_port())
        self._extra_args = tuple(args)

    @property
    def running(self) -> bool:
        return self._process is not None

    def pause(self) -> None:
        """Freeze the server: connections stay open but nothing answers (a hung Redis)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
            self._process.kill()
            self._process.wait(10)
            self._process = None


class ThrowawayRedisCluster:
    """Three primaries and one replica each, made a cluster by `redis-cli --cluster create`.
    A short node timeout makes a failover take about two seconds instead of fifteen."""

    def __init__(self, primaries: int = 3, node_timeout_ms: int = 1000) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
        self._node_timeout_ms = node_timeout_ms
        self.nodes = [self._node(i) for i in range(primaries * 2)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def _node(self, number: int) -> ThrowawayRedis:
        return ThrowawayRedis(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(self.dir / f"nodes-{number}.conf"),
            "--cluster-node-timeout",
            str(self._node_timeout_ms),
            # The bus port defaults to port + 10000, which may be taken (or above 65535).
            "--cluster-port",
            str(free_port()),
            "--dir",
            str(self.dir),
            "--logfile",
            str(self.dir / f"node-{number}.log"),
            # Replicas sync at once (default: a 5 s wait); one that never synced cannot fail over.
            "--repl-diskless-sync-delay",
            "0",
            # While one primary fails over, the other slots keep answering (docs/scaling.md).
            "--cluster-require-full-coverage",
            "no",
        )

    START_ATTEMPTS = 2

    def start(self) -> None:
        """Start the nodes and join them, on fresh nodes once more if joining failed; when
        that fails too, no node is left running."""
        for attempt in range(1, self.START_ATTEMPTS + 1):
            try:
                for node in self.nodes:
                    node.start()
                self._create()
                self.wait_until_healthy()
                return
            except (RuntimeError, TimeoutError):
                if attempt == self.START_ATTEMPTS:
                    self.destroy()
                    raise
                self._replace_nodes()
            except BaseException:
                self.destroy()
                raise

    def _replace_nodes(self) -> None:
        for node in self.nodes:
            node.stop()
        for config in self.dir.glob("nodes-*.conf"):
            config.unlink()
        self.nodes = [self._node(i) for i in range(len(self.nodes))]

    def _create(self) -> None:
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        options = ["--cluster-replicas", "1", "--cluster-yes"]
        result = subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, *options],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            said = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f"redis-cli --cluster create failed in {self.dir}: {said}")

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        """Every running node serves all slots, half the nodes are primaries by their own
        account, and every other running node is a replica in sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [node for node in self.nodes if node.running]
            if all(self._serves_all_slots(node) for node in running):
                roles = [self._role(node) for node in running]
                if "" not in roles and roles.count("master") == len(self.nodes) // 2:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the Redis Cluster in {self.dir} is not healthy after {timeout}s")

    def _serves_all_slots(self, node: ThrowawayRedis) -> bool:
        info = self.cli(node, "cluster", "info")
        return "cluster_state:ok" in info and "cluster_slots_ok:16384" in info

    def _role(self, node: ThrowawayRedis) -> str:
        """The node's own account: "master", "slave" once in sync, "" before. Another node's
        `cluster nodes` can still show a fresh replica as a primary."""
        replication = self.cli(node, "info", "replication")
        if "role:master" in replication:
            return "master"
        return "slave" if "master_link_status:up" in replication else ""

    def cli(self, node: ThrowawayRedis, *command: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(node.port), *command],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout

    def primaries(self) -> list[ThrowawayRedis]:
        """Running nodes that are primaries now (a failover changes which)."""
        return [node for node in self.nodes if node.running and self._role(node) == "master"]

    def kill_a_primary(self) -> ThrowawayRedis:
        victim = self.primaries()[0]
        victim.stop()
        return victim

    def wait_for_failover(self, dead: ThrowawayRedis, timeout: float = 30.0) -> None:
        """Until a replica has replaced `dead` as primary and every slot is served. Right
        after a kill the others still report a healthy cluster: they notice after the node
        timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            primaries = self.primaries()
            if dead not in primaries and len(primaries) == len(self.nodes) // 2:
                self.wait_until_healthy(timeout=deadline - time.monotonic())
                return
            time.sleep(0.05)
        raise TimeoutError(f"no replica replaced the primary on port {dead.port} in {timeout}s")

    def destroy(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-throwaway-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            as_postgres_user(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            as_postgres_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            as_postgres_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayPgBouncer:
    """PgBouncer in transaction mode in front of a PostgreSQL server, serving any database name
    there to the roles it was given."""

    def __init__(self, *upstream_urls: str, strict: bool = True) -> None:
        """PostgreSQL is the first URL's server; every URL's role may log in (and PgBouncer
        logs in upstream as that role, with that password)."""
        upstream = urlsplit(upstream_urls[0])
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        roles = {
            urlsplit(url).username or "postgres": urlsplit(url).password or ""
            for url in upstream_urls
        }
        (self.dir / "users.txt").write_text(
            "".join(f'"{role}" "{password}"\n' for role, password in roles.items())
        )
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={upstream.hostname} port={upstream.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 2000\ndefault_pool_size = 20\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
            # strict (tests): every transaction starts on a clean server connection, so what
            # leans on session state (a prepared statement, a SET) fails every time instead of
            # by chance. Off for the benchmark: production settings, no extra query.
            + (
                "server_reset_query = DISCARD ALL\nserver_reset_query_always = 1\n"
                if strict
                else ""
            )
        )
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def url_for(self, database_url: str) -> str:
        """`database_url` with PgBouncer's address instead of PostgreSQL's."""
        parts = urlsplit(database_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def start(self) -> None:
        # PgBouncer refuses to run as root; `-u` makes it drop to that user.
        as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self._process = subprocess.Popen(
            [binary, *as_user, str(self.dir / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def destroy(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
        shutil.rmtree(self.dir, ignore_errors=True)
