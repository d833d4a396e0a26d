"""Security properties that docs/security.md promises: tokens never logged, error bodies without
stack traces or SQL, CORS closed unless configured, production without placeholders or /docs."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from app.auth.accounts import create_user
from app.auth.sessions import sessions_index_key
from app.core.logging_config import JsonFormatter
from app.core.request_id import RequestIdLogFilter
from app.core.settings import Settings
from main import create_app
from tests.conftest import (
    RunningApp,
    User,
    UserFactory,
    http_client,
    login,
    make_settings,
    running,
)
from tests.production_settings import PRODUCTION
from tests.services import TestDatabase, TestRedis, database_where_renames_run

LEAK_MARKERS = ("Traceback", 'File "', "asyncpg", "SELECT", "UPDATE ", "users", "sqlstate")


def unraised_client(app: RunningApp) -> httpx.AsyncClient:
    """A client that gets the 500 response, as a real client would, instead of the exception
    that the in-process transport re-raises by default."""
    transport = httpx.ASGITransport(app=app.asgi, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def create_and_login(
    app: RunningApp, client: httpx.AsyncClient, username: str, password: str
) -> dict[str, str]:
    """A user in this test's own app (the `make_user` fixture serves the shared one)."""
    state = app.state
    user_id = await create_user(
        pool=state.pool, hasher=state.hasher, username=username, password=password
    )
    return await login(client, User(user_id, username, password, ""))


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log record of the process at DEBUG, formatted as the service formats it. Entered
    after the app exists: create_app() replaces the root handlers."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


PASSWORD = "never-log-this-password"


async def exercise_a_session(app: RunningApp, client: httpx.AsyncClient) -> str:
    """Login, authenticated reads and writes, logout, and a request with the dead token."""
    auth = await create_and_login(app, client, "logcheck_user", PASSWORD)
    assert (await client.get("/getName", headers=auth)).status_code == 200
    assert (await client.post("/setName", json={"name": "x"}, headers=auth)).status_code == 200
    assert (await client.post("/logout", headers=auth)).status_code == 204
    assert (await client.get("/getName", headers=auth)).status_code == 401
    return auth["Authorization"].split()[1]


async def test_tokens_and_passwords_never_reach_the_logs(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    settings = make_settings(database, redis_db, access_log=True, log_level="DEBUG")
    async with running(settings) as app, http_client(app) as client:
        with captured_logs() as buffer:
            token = await exercise_a_session(app, client)
    logs = buffer.getvalue()
    assert '"path": "/login"' in logs  # the capture works
    assert '"path": "/getName"' in logs
    for secret in (token, PASSWORD):
        assert secret not in logs
        assert secret.replace("-", "") not in logs


async def test_error_bodies_carry_no_stack_trace_or_sql(redis_db: TestRedis) -> None:
    """A database that raises on every name change (a trigger) forces the 500 path."""
    failing = "RAISE EXCEPTION 'boom: SELECT password_hash FROM users';"
    async with (
        database_where_renames_run(failing) as db,
        running(make_settings(db, redis_db)) as app,
        unraised_client(app) as client,
    ):
        auth = await create_and_login(app, client, "boom_user", "pw")
        response = await client.post("/setName", json={"name": "x"}, headers=auth)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert not any(marker in response.text for marker in (*LEAK_MARKERS, "boom"))


async def test_a_login_whose_record_step_fails_leaves_no_session(redis_db: TestRedis) -> None:
    """The login's record step (the `last_login_at` update, and its outbox event) cannot be
    written: the client gets an error, and the session made just before is deleted again (no
    event may describe a login nobody got)."""
    db = await TestDatabase.create()
    try:
        conn = await asyncpg.connect(db.url)
        try:
            await conn.execute(
                "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'record refused'; END $$;"
                " CREATE TRIGGER refuse_event BEFORE UPDATE ON users"
                " FOR EACH ROW EXECUTE FUNCTION refuse_event();"
            )
        finally:
            await conn.close()
        async with running(make_settings(db, redis_db)) as app, unraised_client(app) as client:
            state = app.state
            user_id = await create_user(
                pool=state.pool, hasher=state.hasher, username="record_fails", password="pw-1"
            )
            index = sessions_index_key(user_id)
            before = {key async for key in state.redis.scan_iter("session:*")}
            body = {"username": "record_fails", "password": "pw-1"}
            response = await client.post("/login", json=body)
            assert response.status_code == 500
            assert "authorization" not in response.headers
            after = {key async for key in state.redis.scan_iter("session:*")}
            assert after - before == set()  # no new session: it was deleted again
            assert await state.redis.zcard(index) == 0
    finally:
        await db.drop()


DEEPLY_NESTED = {"arrays": b"[" * 5000, "objects": b'{"a":' * 20_000}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/login", {"content": b'{"username": "a", "password": SELECT'}, 422),
        ("POST", "/login", {"json": {"username": "a' OR 1=1 --", "password": "x" * 2000}}, 422),
        ("POST", "/setName", {"json": {"name": "\x00"}}, 422),
        ("POST", "/setName", {"json": {"name": "x" * 2000}}, 422),
        ("GET", "/v1/users/search?q=%00&limit=-1", {}, 422),
        ("GET", "/no/such/path", {}, 404),
        ("DELETE", "/getName", {}, 405),
    ],
)
async def test_client_errors_are_json_without_internals_or_echoed_input(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
) -> None:
    """Sent with a valid token, so the validation behind authentication runs."""
    auth = await login(client, await make_user())
    response = await client.request(method, path, headers=auth, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert not any(marker in response.text for marker in (*LEAK_MARKERS, "OR 1=1", "xxxx"))


@pytest.mark.parametrize("path", ["/login", "/setName"])
@pytest.mark.parametrize("nesting", DEEPLY_NESTED)
async def test_deeply_nested_json_is_422_on_every_endpoint_with_a_body(
    client: httpx.AsyncClient, make_user: UserFactory, path: str, nesting: str
) -> None:
    auth = await login(client, await make_user())
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.post(path, content=DEEPLY_NESTED[nesting], headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "Request validation failed"


@pytest.fixture
async def cors_client(
    database: TestDatabase, redis_db: TestRedis, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database, redis_db, cors_origins=request.param)
    async with running(settings) as app, http_client(app) as client:
        yield client


PREFLIGHT = {
    "Origin": "https://app.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.mark.parametrize("cors_client", [[]], indirect=True)
async def test_cors_is_closed_by_default(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options("/login", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    hello = await cors_client.get("/v1/hello", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in hello.headers


@pytest.mark.parametrize("cors_client", [["https://app.example"]], indirect=True)
async def test_allowed_origins_may_read_the_authorization_header(
    cors_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    preflight = await cors_client.options("/login", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    user = await make_user()
    response = await cors_client.post(
        "/login",
        json={"username": user.username, "password": user.password},
        headers={"Origin": "https://app.example"},
    )
    assert response.status_code == 200
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "authorization" in exposed.split(", ") or "authorization" in exposed
    other = await cors_client.options(
        "/login", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(("docs_enabled", "expected"), [(None, 404), (False, 404), (True, 200)])
async def test_production_hides_docs_unless_enabled(
    docs_enabled: bool | None, expected: int
) -> None:
    # /docs and /openapi.json need no database: the app is served without its lifespan.
    app = create_app(Settings.model_validate({**PRODUCTION, "docs_enabled": docs_enabled}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ("/docs", "/openapi.json"):
            assert (await client.get(path)).status_code == expected


async def test_old_password_hashes_are_upgraded_at_the_next_login(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    """ASVS V2.4: a hash made with weaker parameters is replaced by one with today's."""
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("upgrade-me")
    conn = await asyncpg.connect(database.url)
    try:
        await conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ('upgrade_user', $1)", weak
        )
        await login(client, User(0, "upgrade_user", "upgrade-me", ""))
        stored = await conn.fetchval(
            "SELECT password_hash FROM users WHERE username = 'upgrade_user'"
        )
    finally:
        await conn.close()
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
