"""docs/events.asyncapi.yaml is what the code says: generated from app/events/catalog.py, and
the catalog matches what the SQL writes to the outbox."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from app.auth.service import RECORD_LOGIN_SQL
from app.events.asyncapi import DOCUMENT, document
from app.events.catalog import EVENT_TYPES, event_type, message_model, stream_entry_model
from app.events.outbox import claim_pending
from app.user.service import SET_NAME_SQL
from tests.conftest import AppState, UserFactory
from tests.services import ROOT, TestDatabase

# An outbox INSERT's event type: the quoted `<aggregate>.<verb>` literal in its SELECT.
OUTBOX_INSERT = re.compile(r"INSERT INTO outbox\b.*?'([a-z_]+\.[a-z_]+)'", re.DOTALL)


def test_the_asyncapi_document_is_generated_from_the_code() -> None:
    assert DOCUMENT.read_text() == document(), "docs/events.asyncapi.yaml is stale: make asyncapi"


def test_every_event_type_written_to_the_outbox_is_in_the_catalog() -> None:
    written = {
        (name, path.relative_to(ROOT).as_posix())
        for path in Path(ROOT, "app").rglob("*.py")
        for name in OUTBOX_INSERT.findall(path.read_text())
    }
    assert written, "no outbox INSERT found: the pattern is out of date"
    known = {event.name for event in EVENT_TYPES}
    missing = sorted((name, path) for name, path in written if name not in known)
    assert not missing, f"event types missing from app/events/catalog.py: {missing}"


async def test_what_the_sql_writes_matches_the_catalog(
    make_user: UserFactory, state: AppState, events_db: TestDatabase
) -> None:
    """Each payload the SQL builds validates against its model, and each envelope (broker body
    and stream entry) against the message schemas of the document."""
    user = await make_user(name="Before")
    await state.pool.execute(SET_NAME_SQL, user.id, "After", None)
    await state.pool.execute(RECORD_LOGIN_SQL, user.id, None, None)
    conn = await asyncpg.connect(events_db.url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        _ids, events = await claim_pending(conn, 10_000)
        await transaction.rollback()  # the rows stay pending, as they were
    finally:
        await conn.close()
    mine = [e for e in events if e.aggregate_id == user.id]
    assert {e.event_type for e in mine} == {"user.name_changed", "user.logged_in"}
    for event in mine:
        kind = event_type(event.event_type, event.schema_version)
        assert kind is not None
        kind.payload.model_validate(event.data())
        message_model(kind).model_validate_json(event.to_body())
        stream_entry_model(kind).model_validate(event.to_fields())
