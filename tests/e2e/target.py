"""What the end-to-end tests talk to: a LocalStack started by the tests (default), or a stack
that is already running, e.g. the compose production stack of `make docker-smoke`:

    E2E_BASE_URL=http://127.0.0.1:8080 \
    E2E_COMPOSE="docker compose -f compose.yaml -f compose.prod.yaml --env-file run/smoke/env" \
    pytest -m e2e tests/e2e

With E2E_COMPOSE, users are created with `app.cli create-user` inside an `api` container and
the replica test reads the containers' logs. Tests that stop or kill processes need the local
stack and are skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass

import pytest

from tools.devstack.stack import LocalStack

BASE_URL = os.environ.get("E2E_BASE_URL", "")
COMPOSE = shlex.split(os.environ.get("E2E_COMPOSE", ""))


@dataclass(frozen=True)
class Target:
    base_url: str
    stack: LocalStack | None = None

    def local(self) -> LocalStack:
        """The stack's processes, for tests that stop or kill them."""
        if self.stack is None:
            pytest.skip("needs the local stack (E2E_BASE_URL points at a deployed one)")
        return self.stack


def compose_create_user(username: str, password: str) -> None:
    if not COMPOSE:
        raise RuntimeError("E2E_BASE_URL without E2E_COMPOSE: no way to create test users")
    command = [*COMPOSE, "exec", "-T", "api", "python", "-m", "app.cli", "create-user", username]
    subprocess.run(command, input=f"{password}\n", text=True, check=True, capture_output=True)


def compose_request_ids_by_container(service: str) -> dict[str, set[str]]:
    """request ids in each container's JSON log lines (`docker compose logs` prefixes lines
    with the container name)."""
    if not COMPOSE:
        pytest.skip("needs E2E_COMPOSE to read the containers' logs")
    logs = subprocess.run(
        [*COMPOSE, "logs", "--no-color", service], text=True, check=True, capture_output=True
    ).stdout
    found: dict[str, set[str]] = {}
    for line in logs.splitlines():
        container, sep, payload = line.partition("|")
        if not sep or not payload.strip().startswith("{"):
            continue
        try:
            entry = json.loads(payload)
        except json.JSONDecodeError:
            continue
        found.setdefault(container.strip(), set()).add(str(entry.get("request_id")))
    return found


def compose_exec(service: str, *argv: str) -> str:
    """Run a command inside a running container of the compose stack; its stdout."""
    if not COMPOSE:
        pytest.skip("needs E2E_COMPOSE (the compose stack of make docker-smoke)")
    command = [*COMPOSE, "exec", "-T", service, *argv]
    return subprocess.run(command, text=True, check=True, capture_output=True).stdout


def compose_psql(sql: str) -> str:
    """`sql` run by psql as the superuser inside the postgres container (database `app`)."""
    psql = ["psql", "-U", "postgres", "-d", "app", "--no-psqlrc", "-AtF", ",", "-v"]
    return compose_exec("postgres", *psql, "ON_ERROR_STOP=1", "-c", sql)
