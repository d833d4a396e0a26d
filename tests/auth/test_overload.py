"""Overload sheds fast: a login that would wait longer than LOGIN_MAX_QUEUE_SECONDS for the
password hasher is answered 503 with Retry-After at once instead of queueing. Real argon2id
hashes under real concurrent load in the process; the checks count outcomes and their order,
not durations."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from app.auth.exceptions import HasherBusy
from app.auth.passwords import PasswordHasherService
from app.core.settings import Settings
from tests.conftest import UserFactory, http_client, make_settings, running
from tests.services import TestDatabase, TestRedis

PASSWORD = "pw-123456789"
LOGINS = 40


def hasher_with_bound(
    settings: Settings, hashes: float, **overrides: object
) -> PasswordHasherService:
    """A hasher whose queue bound is `hashes` times its own measured time of one hash."""
    probe = PasswordHasherService(settings.model_copy(update=overrides))
    bound = hashes * probe.seconds_per_hash
    probe.close()
    hasher = PasswordHasherService(
        settings.model_copy(update={**overrides, "login_max_queue_seconds": bound})
    )
    hasher.seconds_per_hash = bound / hashes  # the estimate the bound was made from
    return hasher


async def verify_all(hasher: PasswordHasherService, stored: str) -> list[str]:
    """Start LOGINS verifications at once; their outcomes in the order they finished ("shed"
    only with a Retry-After of at least a second)."""
    finished: list[str] = []

    async def one() -> None:
        try:
            await hasher.verify(stored, PASSWORD)
            finished.append("verified")
        except HasherBusy as busy:
            finished.append("shed" if busy.retry_after >= 1 else "shed without retry-after")

    await asyncio.gather(*(one() for _ in range(LOGINS)))
    return finished


async def test_logins_beyond_the_queue_bound_are_shed(settings: Settings) -> None:
    # One slot, a bound of 2.5 hashes: the first runs, two queue, everything else is shed.
    hasher = hasher_with_bound(settings, 2.5, argon2_max_concurrent=1)
    try:
        outcomes = await verify_all(hasher, hasher.hash_sync(PASSWORD))
    finally:
        hasher.close()
    assert 1 <= outcomes.count("verified") <= 3
    assert outcomes.count("shed") >= LOGINS - 3


async def test_shed_logins_are_answered_before_any_admitted_one_finishes(
    settings: Settings,
) -> None:
    hasher = hasher_with_bound(settings, 2.5, argon2_max_concurrent=1)
    try:
        outcomes = await verify_all(hasher, hasher.hash_sync(PASSWORD))
    finally:
        hasher.close()
    # At most three were admitted; all the others were answered before the first hash ended.
    assert outcomes.index("verified") >= LOGINS - 3


async def test_a_wait_that_runs_over_the_bound_is_cut(settings: Settings) -> None:
    # The estimate says "no wait" but each hash takes far longer than the bound (time cost 10,
    # bound 1/10 of one hash): queued verifications give up at the bound instead of waiting.
    hasher = hasher_with_bound(settings, 0.1, argon2_max_concurrent=1, argon2_time_cost=10)
    stored = hasher.hash_sync(PASSWORD)
    hasher.seconds_per_hash = 0.0
    try:
        outcomes = await verify_all(hasher, stored)
    finally:
        hasher.close()
    assert outcomes.count("verified") == 1
    assert outcomes.count("shed") == LOGINS - 1


async def test_a_login_storm_gets_503_with_retry_after_and_json(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    user = await make_user()
    body = {"username": user.username, "password": user.password}
    # A bound far below one hash: while one login hashes, every other one is shed. The login
    # throttle counts every attempt first, so its limit is raised out of the way here.
    settings = make_settings(
        database, redis_db, login_max_queue_seconds=0.001, login_max_failures=LOGINS + 1
    )
    async with running(settings) as app, http_client(app) as client:
        answers = await asyncio.gather(*(client.post("/login", json=body) for _ in range(LOGINS)))
    ok = [a for a in answers if a.status_code == 200]
    shed = [a for a in answers if a.status_code == 503]
    assert ok, "at least one login is answered"
    assert shed, "the others are shed"
    assert len(ok) + len(shed) == LOGINS
    for answer in shed:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.json()["dependency"] == "password-hasher"


@pytest.mark.parametrize("seconds", [0, -1])
def test_the_queue_bound_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="login_max_queue_seconds"):
        Settings.model_validate({"login_max_queue_seconds": seconds})


def test_the_queue_bound_defaults_to_two_seconds() -> None:
    assert Settings.model_validate({}).login_max_queue_seconds == 2.0


async def test_login_answers_normally_when_the_hasher_is_idle(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    answer = await client.post(
        "/login", json={"username": user.username, "password": user.password}
    )
    assert answer.status_code == 200


async def test_a_redis_pool_wait_beyond_its_timeout_is_a_503_with_retry_after(
    database: TestDatabase, redis_db: TestRedis, make_user: UserFactory
) -> None:
    user = await make_user()
    settings = make_settings(
        database,
        redis_db,
        redis_max_connections=1,
        redis_pool_timeout=0.05,
        redis_socket_timeout=5.0,
    )
    async with running(settings) as app, http_client(app) as client:
        login = await client.post(
            "/login", json={"username": user.username, "password": user.password}
        )
        auth = {"Authorization": login.headers["Authorization"]}
        # The pool's one connection blocks on an empty list for a second: the request must not
        # wait that long for it.

        async def hold_the_connection() -> None:
            await app.state.redis.blpop([f"overload-test:{uuid.uuid4().hex}"], timeout=1)

        held = asyncio.create_task(hold_the_connection())
        await asyncio.sleep(0)
        answer = await client.get("/getName", headers=auth)
        await held
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["dependency"] == "redis"
