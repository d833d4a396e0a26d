"""`make local`: nginx + gunicorn (+ the echo service) on the host, in the foreground.

Settings come from ENV_FILE (default `.env.local`) with real environment variables winning, as
in the app. First the pending migrations run as the schema owner (DATABASE_OWNER_URL; the
database is created when missing, `make migrate`); then the app connects as the app role
(DATABASE_URL) and seeds the demo user (SEED_DEMO_USER). The app's mail goes to a local SMTP
catcher (tools/devstack/mail_catcher.py): each message is kept under run/mail/ and its link
printed in one line; nothing leaves the machine. With domain events, the sample consumer prints
each event as a JSON line in this terminal (docs/architecture.md, "Trying it: make local").
Ctrl-C, SIGTERM or SIGHUP (its terminal closed) stops nginx, then gunicorn (graceful), then the
echo service and the consumer; if the runner is killed outright, the kernel sends them SIGTERM
(docs/development.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from app.core.settings import Settings, load_settings
from tools.devstack import processes
from tools.devstack.brokers import Broker, local_broker  # part:events
from tools.devstack.mail_catcher import MailCatcher
from tools.devstack.migrate import DatabaseUrls, database_urls, run_migrations
from tools.devstack.nginx import ROOT
from tools.devstack.private import PrivateServices, start_missing, with_port
from tools.devstack.schema import MigrationError
from tools.devstack.servers import ServerError
from tools.devstack.stack import LocalStack, StackError

# >>> part:events
# The sample consumer's group: it prints every event of EVENTS_BROKER as a JSON line.
CONSUMER_GROUP = "make-local"
CONSUMER_ARGV = ["-m", "app.cli", "consume-events", "--group", CONSUMER_GROUP]
# <<< part:events

# SIGHUP: the terminal was closed. Its children run in sessions of their own and would not hear.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _say(message: str) -> None:
    """stderr, unless it is gone (SIGHUP: the terminal was closed): stopping matters more."""
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr, flush=True)


def own_run_dir(parent: Path) -> Path:
    """parent/run-<pid>: runs at the same time (several terminals, several people in one tree)
    must not share nginx's config, pid file, temp folders or cache. Folders of runs that ended
    without removing theirs (killed) are removed; the private services' data in parent/services
    stays."""
    folder = parent if parent.is_absolute() else ROOT / parent
    for old in folder.glob("run-*"):
        pid = old.name.removeprefix("run-")
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    return folder / f"run-{os.getpid()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--run-dir", type=Path, default=Path("run/local"), help="config, cache, private services"
    )
    run_dir: Path = parser.parse_args().run_dir
    os.environ.setdefault("ENV_FILE", ".env.local")
    settings = load_settings()
    try:
        urls = database_urls()
    except MigrationError as exc:
        _say(str(exc))
        return 1
    # Nothing answering at DATABASE_OWNER_URL / REDIS_URL here: private ones (the owner is their
    # superuser) in run/local/services.
    try:
        services = start_missing(
            urls.owner,
            settings.redis_url.get_secret_value(),
            folder=ROOT / run_dir / "services",
            stopped_when="with make local",
        )
    except ServerError as exc:
        _say(str(exc))
        return 1
    # >>> part:events
    try:
        # EVENTS_BROKER=rabbitmq|kafka|nats: a private one in run/local/services when none answers.
        broker = local_broker(settings, folder=ROOT / run_dir / "services")
    except (ServerError, TimeoutError) as exc:
        services.stop()
        _say(str(exc))
        return 1
    # <<< part:events
    try:
        port = urlsplit(services.database_url).port or 5432
        return _serve(
            settings,
            services,
            DatabaseUrls(services.database_url, with_port(urls.app, port)),
            own_run_dir(run_dir),
            broker,  # part:events
        )
    finally:
        broker.stop()  # part:events
        services.stop()


def _serve(
    settings: Settings,
    services: PrivateServices,
    urls: DatabaseUrls,
    run_dir: Path,
    broker: Broker,  # part:events
) -> int:
    if not run_migrations(urls):
        _say(
            "Start PostgreSQL, or set DATABASE_OWNER_URL and DATABASE_URL"
            " (they override .env.local)."
        )
        return 1
    echo_port = int(os.environ.get("ECHO_PORT", "9000"))
    mail = MailCatcher(
        folder=ROOT / run_dir.parent / "mail", announce=lambda message: _say(message.summary())
    ).start()
    stack = LocalStack(
        env={
            "GATEWAY_SECRET": settings.gateway_secret.get_secret_value(),  # part:gateway
            "DATABASE_URL": urls.app,
            "REDIS_URL": services.redis_url,
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
            "SMTP_SECURITY": "none",
            **broker.environment(),  # part:events
        },
        http_port=settings.http_port,
        api_port=settings.api_port,
        echo_port=echo_port,
        log_to_files=False,  # logs stream to this terminal
        run_dir=run_dir,
        die_with_runner=True,
    )
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, _raise_stop)
    companions: list[subprocess.Popen[bytes]] = []  # processes beside the stack, stopped after it
    try:
        # >>> part:events
        # Before gunicorn: it boots meanwhile, and says "consumer group ... is ready" when its
        # queue or group exists (a RabbitMQ queue only gets what is published after that).
        consumer = processes.spawn(
            [sys.executable, *CONSUMER_ARGV, "--consumer", f"{CONSUMER_GROUP}-{os.getpid()}"],
            env=stack.env,
            cwd=ROOT,
            log=None,  # its JSON lines in this terminal
            # Killed outright with a killed runner: what it had not acknowledged is delivered
            # again, and a consumer busy retrying a Redis that died too could outlive it.
            die_with_parent=signal.SIGKILL,
        )
        companions.append(consumer)
        # <<< part:events
        stack.start()
        print(
            f"\n  API through nginx: {stack.base_url}  (docs: {stack.base_url}/docs)\n"
            f"  gunicorn directly: {stack.api_url}\n"
            f"  echo behind the gateway: {stack.base_url}/services/echo/\n"  # part:gateway
            f"  mail: kept in run/mail/, each announced here with its link\n"
            f"  events ({broker.name}): printed here by the sample consumer\n"  # part:events
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while stack.all_running() and all(p.poll() is None for p in companions):
            time.sleep(0.5)
        _say("a process of the stack exited; stopping the rest")
        return 1
    except _Stop as stop:
        _say(f"\n{stop}: stopping nginx, then gunicorn")
        return 0
    except StackError as exc:
        _say(str(exc))
        return 1
    finally:
        # A second Ctrl-C must not interrupt the orderly stop.
        for stop_signal in _STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
        stack.stop()
        for companion in companions:
            processes.stop(companion, timeout=10)
        mail.stop()
        shutil.rmtree(run_dir, ignore_errors=True)  # this run's own folder: config and cache


if __name__ == "__main__":
    sys.exit(main())
