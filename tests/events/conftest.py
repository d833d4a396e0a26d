"""The events tests' own database (per module) and the broker under test (per session)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import AppState, as_the_app_reaches_it, make_settings, running
from tests.events_helpers import (
    STARTED_BROKERS,
    create_events_database,
    own_brokers_folder,
    start_broker,
)
from tests.services import TestDatabase, TestRedis
from tools.devstack.brokers import Broker
from tools.devstack.servers import ServerError
from tools.devstack.throwaway import ThrowawayPgBouncer


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming the private brokers this session started (none answered)."""
    if STARTED_BROKERS:
        terminalreporter.write_line(
            f"no broker answering at the configured address: private {', '.join(STARTED_BROKERS)}"
            " under run/test-brokers, stopped when the tests ended"
        )


@pytest.fixture(scope="session")
def event_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """The broker of `on_every_broker`: the local one, or a private one started for the
    session (a broker that cannot be had here skips its tests, saying why)."""
    name = getattr(request, "param", "redis")
    try:
        broker = start_broker(name)
    except (ServerError, TimeoutError, OSError) as exc:
        pytest.skip(f"no {name} broker: {exc}")
    try:
        yield broker
    finally:
        broker.stop()
        with contextlib.suppress(OSError):  # the session's folder, once its brokers are gone
            own_brokers_folder().rmdir()


@pytest.fixture(scope="module")
async def events_db() -> AsyncIterator[TestDatabase]:
    """A database of this module's own: the advisory lock is per database, and the e2e stack
    runs a relay of its own in the session database."""
    db = await create_events_database()
    yield db
    await db.drop()


@pytest.fixture(scope="module")
def app_events_db(events_db: TestDatabase, pgbouncer: ThrowawayPgBouncer | None) -> TestDatabase:
    """events_db as the app reaches it: through PgBouncer on that backend."""
    return as_the_app_reaches_it(events_db, pgbouncer)


@pytest.fixture(scope="module")
async def state(app_events_db: TestDatabase, redis_db: TestRedis) -> AsyncIterator[AppState]:
    """Overrides the session `state` (so `make_user` too): the app over events_db, relay off."""
    async with running(make_settings(app_events_db, redis_db)) as started:
        yield started.state
