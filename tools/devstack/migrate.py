"""`make migrate`: applies the pending migrations of db/migrations to the database of
DATABASE_OWNER_URL (created when missing), as that owner, and gives the app role the password of
DATABASE_URL. Run twice, the second run applies nothing.

Both URLs come from ENV_FILE (default `.env.local`), real environment variables winning, as in
the app. The owner's URL is read here only: the app itself never sees it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg
from dotenv import dotenv_values

from app.core.settings import resolve_env_file
from tools.devstack.schema import MigrationError, prepare_database


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str  # DATABASE_OWNER_URL: migrations and set-up
    app: str  # DATABASE_URL: the app's own, as app_user


def database_urls() -> DatabaseUrls:
    env_file = resolve_env_file(os.environ.get("ENV_FILE", ".env.local"))
    values = dotenv_values(env_file) if env_file is not None and env_file.exists() else {}
    merged = {**values, **os.environ}
    missing = [name for name in ("DATABASE_OWNER_URL", "DATABASE_URL") if not merged.get(name)]
    if missing:
        raise MigrationError(f"set {' and '.join(missing)} (in {env_file} or the environment)")
    return DatabaseUrls(owner=merged["DATABASE_OWNER_URL"] or "", app=merged["DATABASE_URL"] or "")


def run_migrations(urls: DatabaseUrls) -> bool:
    """Prints dbmate's report, or why it failed; True when the schema is current."""
    try:
        output = asyncio.run(prepare_database(urls.owner, urls.app))
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        host = urlsplit(urls.owner).hostname
        print(f"migrations on {host} failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        return False
    print(output.strip() or "schema is current: no pending migration", flush=True)
    return True


def main() -> int:
    try:
        urls = database_urls()
    except MigrationError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0 if run_migrations(urls) else 1


if __name__ == "__main__":
    sys.exit(main())
