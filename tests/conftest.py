"""Fixtures: a scratch database and Redis DB index for the session, the app with its real
lifespan, an httpx client, and user factories."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from app.auth.accounts import create_user
from app.auth.lifespan import AuthState
from app.auth.passwords import PasswordHasherService
from app.auth.profile_cache import ProfileCache
from app.auth.sessions import SessionStore
from app.auth.throttle import LoginThrottle
from app.core.settings import Settings
from app.wiring.lifespan import CLIENTS, Clients
from main import create_app
from tests.services import (
    ADMIN_URL,
    PRIVATE_SERVICES,
    ServiceUnavailable,
    TestDatabase,
    TestRedis,
)
from tools.devstack.throwaway import ThrowawayPgBouncer, ThrowawayRedisCluster
from utils.database.psql import Pool
from utils.redis.redis import RedisClient

# What the app talks to. None: the local PostgreSQL and Redis directly, as in every test;
# the contract, session and event tests run on every backend (`@on_every_backend`). None is
# what an unparametrised `backend` reports too, so switching between those tests and the
# standalone runs of parametrised ones restarts nothing.
REDIS_CLUSTER = "redis-cluster"  # a throwaway Redis Cluster: 3 primaries, a replica each
PGBOUNCER = "pgbouncer"  # a throwaway PgBouncer in transaction mode before the database
on_every_backend = pytest.mark.parametrize(
    "backend",
    [
        pytest.param(None, id="standalone"),
        pytest.param(REDIS_CLUSTER, id=REDIS_CLUSTER),
        pytest.param(PGBOUNCER, id=PGBOUNCER),
    ],
    indirect=True,
    scope="session",
)


def pytest_report_header() -> list[str]:
    """The line saying that private PostgreSQL/Redis instances serve this session, if they do."""
    return [PRIVATE_SERVICES.note] if PRIVATE_SERVICES.note else []


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str | None:
    return cast(str | None, getattr(request, "param", None))


@pytest.fixture(scope="session")
async def scratch_database() -> AsyncIterator[TestDatabase]:
    try:
        db = await TestDatabase.create()
    except ServiceUnavailable as exc:
        pytest.exit(str(exc), returncode=2)
    yield db
    await db.drop()


@pytest.fixture(scope="session")
def pgbouncer(
    backend: str | None, scratch_database: TestDatabase
) -> Iterator[ThrowawayPgBouncer | None]:
    if backend != PGBOUNCER:
        yield None
        return
    # The app role (with its password) and the admin role (other scratch databases).
    bouncer = ThrowawayPgBouncer(scratch_database.direct_app_url, ADMIN_URL)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.destroy()


def as_the_app_reaches_it(db: TestDatabase, pgbouncer: ThrowawayPgBouncer | None) -> TestDatabase:
    """`db`, the app going through PgBouncer when the backend has one (`direct_url` keeps the
    way around); set-up and inspection (`url`) always reach PostgreSQL itself."""
    if pgbouncer is None:
        return db
    return replace(db, pooled_app_url=pgbouncer.url_for(db.direct_app_url))


@pytest.fixture(scope="session")
def database(scratch_database: TestDatabase, pgbouncer: ThrowawayPgBouncer | None) -> TestDatabase:
    return as_the_app_reaches_it(scratch_database, pgbouncer)


@pytest.fixture(scope="session")
async def redis_db(backend: str | None) -> AsyncIterator[TestRedis]:
    if backend == REDIS_CLUSTER:
        cluster = ThrowawayRedisCluster()
        try:
            await asyncio.to_thread(cluster.start)
            yield TestRedis(url=cluster.url, keys_before=set(), cluster=True)
        finally:
            cluster.destroy()
        return
    try:
        scratch = await TestRedis.open()
    except ServiceUnavailable as exc:
        pytest.exit(str(exc), returncode=2)
    yield scratch
    await scratch.remove_own_keys()


def make_settings(database: TestDatabase, redis_db: TestRedis, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "development",
        "database_url": database.app_url,
        "redis_url": redis_db.url,
        "access_log": False,
        "seed_demo_user": False,
        "outbox_relay_enabled": False,  # part:events
        "mail_sender_enabled": False,  # tests/accounts/ start a sender with an SMTP listener
        "redis_cluster": redis_db.cluster,
    }
    if database.direct_url is not None:
        values.update(db_pgbouncer=True, database_direct_url=database.direct_url)
    values.update(overrides)
    # model_validate skips the environment and dotenv sources: tests see only these values.
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def settings(database: TestDatabase, redis_db: TestRedis) -> Settings:
    return make_settings(database, redis_db)


@dataclass(frozen=True)
class AppState:
    """The lifespan's state as tests reach it: the shared clients and the auth feature's."""

    clients: Clients
    auth: AuthState

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    @property
    def pool(self) -> Pool:
        return self.clients.pool

    @property
    def redis(self) -> RedisClient:
        return self.clients.redis

    @property
    def hasher(self) -> PasswordHasherService:
        return self.auth.hasher

    @property
    def sessions(self) -> SessionStore:
        return self.auth.sessions

    @property
    def profiles(self) -> ProfileCache:
        return self.auth.profiles

    @property
    def throttle(self) -> LoginThrottle:
        return self.auth.throttle


def state_of(lifespan_state: dict[str, object]) -> AppState:
    return AppState(
        clients=cast(Clients, lifespan_state[CLIENTS]), auth=cast(AuthState, lifespan_state["auth"])
    )


@dataclass(frozen=True)
class RunningApp:
    """The app inside its real lifespan; `asgi` injects the lifespan state into requests."""

    asgi: ASGIApp
    state: AppState


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[RunningApp]:
    async with LifespanManager(create_app(settings)) as manager:
        yield RunningApp(asgi=manager.app, state=state_of(manager._state))


def http_client(app: RunningApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app.asgi)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[RunningApp]:
    async with running(settings) as started:
        yield started


@pytest.fixture(scope="session")
def state(app: RunningApp) -> AppState:
    return app.state


@pytest.fixture
async def client(app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as http:
        yield http


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password: str
    name: str


UserFactory = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(state: AppState) -> UserFactory:
    async def factory(name: str = "", username: str | None = None) -> User:
        username = username or f"user_{secrets.token_hex(6)}"
        password = secrets.token_urlsafe(12)
        user_id = await create_user(
            pool=state.pool, hasher=state.hasher, username=username, password=password, name=name
        )
        return User(id=user_id, username=username, password=password, name=name)

    return factory


async def login(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Log in and return the headers an authenticated request sends."""
    response = await client.post(
        "/login", json={"username": user.username, "password": user.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": response.headers["Authorization"]}


@pytest.fixture
def hasher(settings: Settings) -> PasswordHasherService:
    return PasswordHasherService(settings)
