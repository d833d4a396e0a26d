"""A login cancelled while it records itself (the `last_login_at` update and its outbox event)
leaves no session behind: app/auth/service.py revokes the new session on any BaseException,
a cancellation included, not only on errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
import pytest

from app.auth import service
from app.auth.accounts import create_user
from app.auth.schemas import LoginRequest
from app.auth.sessions import session_key, sessions_index_key
from tests.conftest import make_settings, running
from tests.services import TestDatabase, TestRedis


@pytest.fixture
async def database_where_logins_record_slowly() -> AsyncIterator[TestDatabase]:
    """A scratch database whose login stamp takes seconds (a trigger that sleeps)."""
    db = await TestDatabase.create()
    try:
        conn = await asyncpg.connect(db.url)
        try:
            await conn.execute(
                "CREATE FUNCTION slow_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " PERFORM pg_sleep(3); RETURN NEW; END $$;"
                " CREATE TRIGGER slow_stamp BEFORE UPDATE OF last_login_at ON users"
                " FOR EACH ROW EXECUTE FUNCTION slow_stamp();"
            )
        finally:
            await conn.close()
        yield db
    finally:
        await db.drop()


async def test_a_login_cancelled_while_recording_leaves_no_session(
    database_where_logins_record_slowly: TestDatabase, redis_db: TestRedis
) -> None:
    settings = make_settings(
        database_where_logins_record_slowly,
        redis_db,
        db_statement_timeout_ms=10_000,  # the cancellation, not a timeout, ends the statement
        db_command_timeout=10.0,
    )
    async with running(settings) as app:
        state = app.state
        user_id = await create_user(
            pool=state.pool, hasher=state.hasher, username="cancelled_login", password="pw-1"
        )
        index = sessions_index_key(user_id)
        login = asyncio.create_task(
            service.login(
                pool=state.pool,
                auth=state.auth,
                credentials=LoginRequest(username="cancelled_login", password="pw-1"),
                client="test",
            )
        )
        for _ in range(200):  # until the session exists: the record step is running
            if await state.redis.zcard(index):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the login never opened its session")
        await asyncio.sleep(0.2)  # inside the sleeping UPDATE
        assert not login.done()
        (token,) = cast(list[str], await state.redis.zrange(index, 0, -1))  # decoded
        login.cancel()
        with pytest.raises(asyncio.CancelledError):
            await login
        assert await state.redis.zcard(index) == 0
        assert await state.redis.exists(session_key(token)) == 0
