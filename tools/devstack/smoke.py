"""`make docker-smoke`: build the image, start the production stack (compose.yaml +
compose.prod.yaml) with throwaway secrets, check that the images carry no tooling
(image_contents.py), run the end-to-end tests against its nginx, tear it down with its volumes.
The stack's one-shot `migrate` service builds the schema before the api starts;
tests/e2e/test_roles.py checks in pg_stat_activity that the app connects as its role.

The dev stack's mail catcher (compose.yaml's `mail`, off in production by its profile) runs here
too: its image is checked like the others, and a sign-up through nginx must reach it as a mail
whose link starts with the production PUBLIC_BASE_URL (the api's sender, SMTP, the catcher).

The secrets come from .env.prod with every CHANGE_ME_* placeholder replaced by a random value
(the app refuses placeholders in production, so the stack would not start with them). The stack
runs as its own compose project, so `down -v` can never touch a real `make prod` stack.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from dotenv import dotenv_values

from tools.devstack.image_contents import check_images
from tools.devstack.nginx import ROOT
from tools.devstack.processes import free_port

PROJECT = "fastapi-template-smoke"
RUN_DIR = ROOT / "run" / "smoke"
PLACEHOLDER = re.compile(r"CHANGE_ME[A-Z0-9_]*")
MAIL_PROFILE = "mail-catcher"
MAIL_WAIT_SECONDS = 30.0


def throwaway_env(template: Path, http_port: int) -> str:
    """The template with each placeholder replaced (the same placeholder, the same value)."""
    values: dict[str, str] = {}

    def secret(match: re.Match[str]) -> str:
        return values.setdefault(match.group(0), secrets.token_hex(16))

    text = PLACEHOLDER.sub(secret, template.read_text())
    extra = {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "HTTP_HOST_PORT": str(http_port),
        "API_REPLICAS": os.environ.get("API_REPLICAS", "2"),
        # compose.prod.yaml's env_file for the api: the same throwaway file.
        "APP_ENV_FILE": str((RUN_DIR / "prod.env").relative_to(ROOT)),
        # The app's access line (off by default: nginx logs every request) is how
        # tests/e2e/test_replicas.py tells which replica served a request id.
        "ACCESS_LOG": "true",
        # Its own api network: a `make dev` or `make prod` stack may hold the default one.
        "API_NETWORK_PREFIX": "10.231.81",
        # Mail to the stack's catcher (its profile is on here): no login, so no TLS needed.
        "SMTP_HOST": "mail",
        "SMTP_PORT": "1025",
        "SMTP_SECURITY": "none",
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "MAIL_POLL_INTERVAL_SECONDS": "1",
        # The catcher writes run/mail/ as whoever runs this.
        "MAIL_CATCHER_USER": f"{os.getuid()}:{os.getgid()}",
    }
    return text + "".join(f"{name}={value}\n" for name, value in extra.items())


def run(command: list[str], **env: str) -> int:
    print(f"+ {shlex.join(command)}", flush=True)
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=False).returncode  # noqa: S603


def post_json(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 (the smoke stack's own http URL)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def remove_mail_to(address: str) -> None:
    """The catcher's files of the check's own mail (run/mail/ is the dev stack's folder too)."""
    for path in (ROOT / "run" / "mail").glob("*.eml"):
        if address in path.read_text(errors="replace"):
            path.unlink(missing_ok=True)


def mail_arrives(compose: list[str], base_url: str, public_base_url: str) -> int:
    """0 when a sign-up through nginx reaches the catcher as one line with a link under
    PUBLIC_BASE_URL; otherwise says what it saw and returns 1."""
    name = f"smoke_{secrets.token_hex(4)}"
    email = f"{name}@smoke.acme-corp.io"
    body = {"username": name, "email": email, "password": secrets.token_urlsafe(18)}
    for _ in range(20):  # nginx lets an address sign up once a second (burst 5)
        status = post_json(f"{base_url}/v1/accounts", body)
        if status != 429:
            break
        time.sleep(1)
    if status != 201:
        print(f"mail check: sign-up answered {status}", flush=True)
        return 1
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    logs = ""
    while time.monotonic() < deadline:
        logs = subprocess.run(  # noqa: S603
            [*compose, "logs", "--no-color", "--no-log-prefix", "mail"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        line = next((x for x in logs.splitlines() if x.startswith(f"mail to {email}:")), None)
        if line is not None:
            print(f"mail check: {line}", flush=True)
            remove_mail_to(email)
            return 0 if f" -> {public_base_url.rstrip('/')}/" in line else 1
        time.sleep(1)
    print(f"mail check: no mail to {email} in {MAIL_WAIT_SECONDS:.0f} s:\n{logs}", flush=True)
    return 1


def main() -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env_file = RUN_DIR / "prod.env"
    http_port = free_port()
    env_file.write_text(throwaway_env(ROOT / ".env.prod", http_port))
    env_file.chmod(0o600)
    (ROOT / "run" / "mail").mkdir(parents=True, exist_ok=True)  # as this user, not the engine
    compose = ["docker", "compose", "-p", PROJECT, "-f", "compose.yaml", "-f", "compose.prod.yaml"]
    compose += ["--env-file", str(env_file.relative_to(ROOT)), "--profile", MAIL_PROFILE]
    started = time.monotonic()
    try:
        status = run([*compose, "up", "--detach", "--build", "--wait", "--pull", "never"])
        print(f"stack up after {time.monotonic() - started:.1f} s", flush=True)
        if status == 0:
            status = check_images(compose)  # the images carry no tooling
        if status == 0:
            status = run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-m",
                    "e2e",
                    "tests/e2e",
                    "-p",
                    "no:cacheprovider",
                ],
                E2E_BASE_URL=f"http://127.0.0.1:{http_port}",
                E2E_COMPOSE=shlex.join(compose),
            )
        if status == 0:
            public_base_url = dotenv_values(env_file).get("PUBLIC_BASE_URL") or ""
            status = mail_arrives(compose, f"http://127.0.0.1:{http_port}", public_base_url)
        if status != 0:
            run([*compose, "ps", "--all"])
            run([*compose, "logs", "--no-color", "--tail", "60"])
        return status
    finally:
        run([*compose, "down", "--volumes", "--remove-orphans", "--timeout", "20"])
        env_file.unlink(missing_ok=True)
        print(f"docker-smoke took {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
