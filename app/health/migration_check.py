"""Whether the database has the newest migration this code was written for (readiness).

The app never migrates: the compose `migrate` one-shot, the deploy's migration job and
`make migrate` do, as the schema owner. The app only reads dbmate's `schema_migrations`, so a
release whose migration has not run reports "behind" instead of answering 500s.

The expected version is the newest file name in db/migrations, read at start-up, rather than a
constant: adding a migration is then the only step, and no forgotten constant can let new code
report ready on an old schema. The image ships db/migrations anyway (the migration job runs it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import asyncpg

from app.core.settings import PROJECT_ROOT
from utils.database.psql import Pool

logger = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = PROJECT_ROOT / "db" / "migrations"

# dbmate records each applied migration's version, the file name's leading timestamp.
APPLIED_SQL: Final = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)"


def newest_migration(directory: Path = MIGRATIONS_DIR) -> str:
    versions = [path.name.split("_", 1)[0] for path in directory.glob("*.sql")]
    if not versions:
        raise RuntimeError(f"no migrations in {directory}: the app needs db/migrations")
    return max(versions)


class MigrationCheck:
    """Answers "ok" or "behind"; logs the missing migration once, not on every probe."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self._reported = False

    async def state(self, pool: Pool) -> str:
        try:
            applied = bool(await pool.fetchval(APPLIED_SQL, self.expected))
        except asyncpg.UndefinedTableError:  # never migrated (empty, or built from init.sql)
            applied = False
        if applied:
            self._reported = False
            return "ok"
        if not self._reported:
            self._reported = True
            logger.error(
                "database schema is behind: migration %s is not applied; run the migrations"
                " (make migrate, or the migrate service/job) as the schema owner",
                self.expected,
            )
        return "behind"
