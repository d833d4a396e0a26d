"""`make local`: nginx + gunicorn (+ the echo service) on the host, in the foreground.

Settings come from ENV_FILE (default `.env.local`) with real environment variables winning, as
in the app. First the pending migrations run as the schema owner (DATABASE_OWNER_URL; the
database is created when missing, `make migrate`); then the app connects as app_user
(DATABASE_URL) and seeds the demo user (SEED_DEMO_USER). Ctrl-C or SIGTERM
stops nginx, then gunicorn (graceful), then the echo service.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

from app.settings import load_settings
from tools.devstack.migrate import database_urls, run_migrations
from tools.devstack.schema import MigrationError
from tools.devstack.stack import LocalStack, StackError


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def main() -> int:
    os.environ.setdefault("ENV_FILE", ".env.local")
    settings = load_settings()
    try:
        migrated = run_migrations(database_urls())
    except MigrationError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not migrated:
        print(
            "Start PostgreSQL, or set DATABASE_OWNER_URL and DATABASE_URL"
            " (they override .env.local).",
            file=sys.stderr,
        )
        return 1
    echo_port = int(os.environ.get("ECHO_PORT", "9000"))
    stack = LocalStack(
        env={"GATEWAY_SECRET": settings.gateway_secret.get_secret_value()},
        http_port=settings.http_port,
        api_port=settings.api_port,
        echo_port=echo_port,
        log_to_files=False,  # logs stream to this terminal
    )
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        stack.start()
        print(
            f"\n  API through nginx: {stack.base_url}  (docs: {stack.base_url}/docs)\n"
            f"  gunicorn directly: {stack.api_url}\n"
            f"  echo behind the gateway: {stack.base_url}/services/echo/\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while stack.all_running():
            time.sleep(0.5)
        print("a process of the stack exited; stopping the rest", file=sys.stderr)
        return 1
    except _Stop as stop:
        print(f"\n{stop}: stopping nginx, then gunicorn", file=sys.stderr)
        return 0
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not interrupt the orderly stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
