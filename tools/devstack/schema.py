"""Prepares the database for a host run: creates the database named in the URL when missing
and loads init.sql when the `users` table is missing (init.sql is idempotent anyway)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tools.devstack.nginx import ROOT


def _maintenance_url(url: str) -> tuple[str, str]:
    """The same server and credentials, database `postgres`; and the wanted database name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or (parts.username or "postgres")
    return urlunsplit(parts._replace(path="/postgres")), name


async def ensure_database(url: str) -> None:
    admin_url, name = _maintenance_url(url)
    admin = await asyncpg.connect(admin_url, timeout=5)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be bind parameters; quote_ident-style escaping instead.
            quoted = '"' + name.replace('"', '""') + '"'
            await admin.execute(f"CREATE DATABASE {quoted}")
            print(f"created database {name}", flush=True)
    finally:
        await admin.close()
    conn = await asyncpg.connect(url, timeout=5)
    try:
        if await conn.fetchval("SELECT to_regclass('public.users')") is None:
            await conn.execute((ROOT / "init.sql").read_text())
            print(f"loaded init.sql into {name}", flush=True)
    finally:
        await conn.close()
