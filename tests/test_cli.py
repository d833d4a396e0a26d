"""`python -m app.cli create-user`: password from stdin, clear errors, exit codes."""

import os
import secrets
import subprocess
import sys

import httpx

from tests.services import ROOT, TestDatabase, TestRedis


def run_cli(
    database: TestDatabase, redis_db: TestRedis, *args: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENV_FILE": "", "DATABASE_URL": database.url, "REDIS_URL": redis_db.url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_user_reads_password_from_stdin_and_user_can_log_in(
    database: TestDatabase, redis_db: TestRedis, client: httpx.AsyncClient
) -> None:
    username = f"cli_{secrets.token_hex(4)}"
    result = run_cli(
        database,
        redis_db,
        "create-user",
        username,
        "--name",
        "Cli Person",
        stdin="s3cret-passphrase\n",
    )
    assert result.returncode == 0, result.stderr
    assert "s3cret-passphrase" not in result.stdout + result.stderr
    response = await client.post(
        "/login", json={"username": username, "password": "s3cret-passphrase"}
    )
    assert response.status_code == 200
    name = await client.get(
        "/getName", headers={"Authorization": response.headers["Authorization"]}
    )
    assert name.json()["name"] == "Cli Person"


def test_duplicate_user_is_a_clear_error_with_exit_code_1(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    username = f"dup_{secrets.token_hex(4)}"
    assert (
        run_cli(database, redis_db, "create-user", username, stdin="long-enough-pass\n").returncode
        == 0
    )
    again = run_cli(database, redis_db, "create-user", username.upper(), stdin="long-enough-pass\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_invalid_username_is_refused_without_echoing_the_password(
    database: TestDatabase, redis_db: TestRedis
) -> None:
    result = run_cli(database, redis_db, "create-user", "has space", stdin="hunter2-secret\n")
    assert result.returncode == 1
    assert "hunter2-secret" not in result.stderr


def test_short_password_is_refused(database: TestDatabase, redis_db: TestRedis) -> None:
    result = run_cli(
        database, redis_db, "create-user", f"short_{secrets.token_hex(3)}", stdin="short\n"
    )
    assert result.returncode == 1
    assert "at least 12 characters" in result.stderr
