"""The issue's "done when": `EVENTS_BROKER=<broker> make local`, then `POST /setName` through
nginx, and the sample consumer (`consume-events`, started by the runner) prints the event.

The runner is started as tests/tooling/test_local_runner.py starts it (free ports, its own run
folder), on this module's database (its relay must hold the advisory lock: the e2e stack's
relay holds the session database's) and on the session's broker (tests/events/conftest.py)."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from tests.conftest import UserFactory
from tests.events_helpers import drop_broker_topology
from tests.services import TestDatabase, TestRedis
from tests.tooling.test_local_runner import Runner, start_runner, stop_leftovers
from tools.devstack.brokers import Broker
from tools.devstack.local import CONSUMER_GROUP

pytestmark = pytest.mark.e2e

# make local's brokers (the issue names these three; Kafka's runner works the same way).
on_local_brokers = pytest.mark.parametrize(
    "event_broker", ["redis", "rabbitmq", "nats"], indirect=True, scope="session"
)
WAIT_S = 60.0


def _wait_for_line(runner: Runner, found: str, what: str) -> dict[str, object] | str:
    """The first line of the runner's output containing `found` (a JSON object when it is one)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for line in runner.output.read_text(errors="replace").splitlines():
            if found in line:
                with contextlib.suppress(ValueError):
                    parsed: dict[str, object] = json.loads(line)
                    return parsed
                return line
        if runner.process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {what} in make local's output:\n{runner.output.read_text()[-4000:]}")


@pytest.fixture
def stream() -> str:
    return f"events:local:{secrets.token_hex(4)}"


@pytest.fixture
async def local_runner(
    events_db: TestDatabase,
    redis_db: TestRedis,
    event_broker: Broker,
    stream: str,
    tmp_path: Path,
) -> AsyncIterator[Runner]:
    try:
        runner = start_runner(
            events_db,
            redis_db,
            tmp_path,
            EVENTS_STREAM=stream,
            **{"EVENTS_BROKER": event_broker.name, **event_broker.environment()},
        )
        pids = runner.descendants()
        try:
            yield runner
        finally:
            runner.process.send_signal(signal.SIGINT)  # the orderly stop, consumer included
            with contextlib.suppress(subprocess.TimeoutExpired):
                runner.process.wait(60)
            stop_leftovers(runner, pids)
    finally:
        # Only now (a running consumer would declare its queue again), and also when the
        # runner did not come up: its consumer may have declared them already.
        settings = Settings.model_validate(
            {"events_broker": event_broker.name, "events_stream": stream, **event_broker.settings}
        )
        await drop_broker_topology(settings, [CONSUMER_GROUP])


@on_local_brokers
async def test_set_name_through_nginx_reaches_the_sample_consumer(
    local_runner: Runner, make_user: UserFactory
) -> None:
    user = await make_user(name="Before")
    # The consumer's queue or group exists from this line on (a RabbitMQ queue gets only
    # what is published after it).
    _wait_for_line(local_runner, f"consumer group '{CONSUMER_GROUP}' is ready", "ready line")
    new_name = f"After {secrets.token_hex(3)}"
    base = f"http://127.0.0.1:{local_runner.ports[0]}"
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        login = await client.post(
            "/login", json={"username": user.username, "password": user.password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": login.headers["Authorization"]}
        answer = await client.post("/setName", json={"name": new_name}, headers=headers)
        assert answer.status_code == 200, answer.text

    event = _wait_for_line(local_runner, new_name, "user.name_changed event")
    assert isinstance(event, dict), event
    assert event["event_type"] == "user.name_changed"
    assert event["aggregate_id"] == user.id
    assert event["payload"] == {"user_id": user.id, "old_name": "Before", "new_name": new_name}
