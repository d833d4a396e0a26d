"""Fixtures: a scratch database and Redis DB index for the session, the app with its real
lifespan, an httpx client, and user factories."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from app.auth.passwords import PasswordHasherService
from app.settings import Settings
from app.state import AppState
from app.user.accounts import create_user
from main import create_app
from tests.services import PRIVATE_SERVICES, ServiceUnavailable, TestDatabase, TestRedis


def pytest_report_header() -> list[str]:
    """The line saying that private PostgreSQL/Redis instances serve this session, if they do."""
    return [PRIVATE_SERVICES.note] if PRIVATE_SERVICES.note else []


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[TestDatabase]:
    try:
        db = await TestDatabase.create()
    except ServiceUnavailable as exc:
        pytest.exit(str(exc), returncode=2)
    yield db
    await db.drop()


@pytest.fixture(scope="session")
async def redis_db() -> AsyncIterator[TestRedis]:
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
        "outbox_relay_enabled": False,
    }
    values.update(overrides)
    # model_validate skips the environment and dotenv sources: tests see only these values.
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def settings(database: TestDatabase, redis_db: TestRedis) -> Settings:
    return make_settings(database, redis_db)


@dataclass(frozen=True)
class RunningApp:
    """The app inside its real lifespan; `asgi` injects the lifespan state into requests."""

    asgi: ASGIApp
    state: AppState


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[RunningApp]:
    async with LifespanManager(create_app(settings)) as manager:
        yield RunningApp(asgi=manager.app, state=manager._state["app"])


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
