"""Production refuses every secret the repository itself publishes, a short gateway secret, and
(in any environment) an empty one.

The list of published secrets is read from the committed env, compose, Kubernetes, CI and
deployment-check files when the test runs, so a secret committed tomorrow fails here until
`DEVELOPMENT_SECRETS` names it. Failures name the file and the variable, never the value: a
working copy may hold real secrets.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import (
    SecretStr,  # part:gateway
    ValidationError,
)

from app.core.settings import (
    DEVELOPMENT_SECRETS,
    GATEWAY_SECRET_MIN_LENGTH,  # part:gateway
    PLACEHOLDER_MARKERS,
    Settings,
)
from tests.conftest import http_client, running  # part:gateway
from tests.production_settings import PRODUCTION
from tests.services import ROOT

# Where a deployment's secrets are written down in the repository.
PUBLISHING = re.compile(
    r"^(?:\.env[^/]*|.*\.env\.example|compose[^/]*\.ya?ml|deploy/k8s/.*|\.github/workflows/.*"
    r"|docker/.*)$"
)
SECRET_NAME = r"[A-Z][A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN)"
# NAME=value, NAME: value (env files, shell, YAML, kustomize literals)
ASSIGNED = re.compile(rf"(?<![{{\w])({SECRET_NAME})[ \t]*[=:][ \t]*[\"']?([^\s\"'#]+)")
# ${NAME:-default} or ${NAME-default}: compose and shell defaults (innermost first)
DEFAULTED = re.compile(rf"\$\{{({SECRET_NAME}):?-([^}}$]+)\}}")
# scheme://user:password@host
IN_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@\"']*:([^\s@/\"']+)@")


@dataclass(frozen=True)
class Published:
    path: str
    name: str
    value: str

    def __repr__(self) -> str:  # pytest prints ids and reprs: never the value
        return f"{self.path}: {self.name}"


def tracked_files() -> list[str]:
    """The repository's files; a tree without git (fresh from copier) lists what is there."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*")
            if path.is_file() and path.relative_to(ROOT).parts[0] not in (".venv", "run")
        ]
    return sorted(path for path in listed if PUBLISHING.match(path))


def committed_text(path: str) -> str:
    """The committed content (not a working copy someone filled in), else the file's."""
    try:
        content = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"HEAD:{path}"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        content = (ROOT / path).read_bytes()
    return content.decode("utf-8", errors="replace")  # an image has no secrets to find


def published_secrets() -> list[Published]:
    found: set[Published] = set()
    for path in tracked_files():
        if not (ROOT / path).is_file():
            continue
        for line in committed_text(path).splitlines():
            for match in ASSIGNED.finditer(line):
                found.add(Published(path, match.group(1), match.group(2)))
            for match in DEFAULTED.finditer(line):
                found.add(Published(path, match.group(1), match.group(2)))
            for match in IN_URL.finditer(line):
                found.add(Published(path, "a URL's password", match.group(1)))
    return sorted((p for p in found if is_a_value(p.value)), key=lambda p: (p.path, p.name))


def is_a_value(text: str) -> bool:
    """Not a variable (`${...}`, `$VAR`) and not a word standing for one in a comment
    (`redis://:PASSWORD@host`); CHANGE_ME placeholders are values (production refuses them)."""
    if not text or "$" in text:
        return False
    return not re.fullmatch(r"[A-Z_]+", text) or "CHANGE_ME" in text


PUBLISHED = published_secrets()


def test_the_scan_finds_the_secrets_we_know_are_published() -> None:
    values = {p.value for p in PUBLISHED}
    known = {"local-app-password", "dev-app-password", "dev-postgres-password"}
    known |= {"dev-gateway-secret", "local-gateway-secret"}  # part:gateway
    assert known <= values


def _refused(**values: object) -> bool:
    try:
        Settings.model_validate({**PRODUCTION, **values})
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("secret", PUBLISHED, ids=repr)
def test_production_refuses_every_published_secret(secret: Published) -> None:
    # >>> part:gateway
    padded = (
        f"{secret.value}-{'k' * GATEWAY_SECRET_MIN_LENGTH}"  # long enough to pass the length rule
    )
    assert _refused(gateway_secret=padded), "as GATEWAY_SECRET"
    # <<< part:gateway
    database_url = f"postgresql://app_user:{secret.value}@db/app"
    assert _refused(database_url=database_url)
    assert _refused(redis_url=f"redis://:{secret.value}@redis:6379/0")


@pytest.mark.parametrize("secret", PUBLISHED, ids=repr)
def test_development_secrets_names_every_published_secret(secret: Published) -> None:
    """Placeholders (CHANGE_ME...) are refused by their marker; every other value by name."""
    placeholder = any(marker in secret.value.lower() for marker in PLACEHOLDER_MARKERS)
    assert placeholder or any(known in secret.value for known in DEVELOPMENT_SECRETS)


# >>> part:gateway
@pytest.mark.parametrize("secret", ["", "x", "k" * (GATEWAY_SECRET_MIN_LENGTH - 1)])
def test_production_refuses_a_short_gateway_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_SECRET"):
        Settings.model_validate({**PRODUCTION, "gateway_secret": secret})


# <<< part:gateway


# >>> part:gateway
def test_production_accepts_a_gateway_secret_of_the_minimum_length() -> None:
    secret = "Zq7" + "k" * (GATEWAY_SECRET_MIN_LENGTH - 3)
    assert Settings.model_validate({**PRODUCTION, "gateway_secret": secret}).is_production


# <<< part:gateway


# >>> part:gateway
def test_no_environment_accepts_an_empty_gateway_secret() -> None:
    with pytest.raises(ValidationError, match="GATEWAY_SECRET"):
        Settings.model_validate({"environment": "development", "gateway_secret": ""})


# <<< part:gateway


# >>> part:gateway
@pytest.mark.parametrize("sent", [None, ""])
async def test_verify_refuses_everyone_when_the_gateway_secret_is_empty(
    settings: Settings, sent: str | None
) -> None:
    """Defence in depth: settings built without validation (`model_copy`) still never let an
    empty `X-Gateway-Secret:` match an empty secret."""
    empty = settings.model_copy(update={"gateway_secret": SecretStr("")})
    headers = {"Authorization": "Bearer 00000000-0000-4000-8000-000000000000"}
    if sent is not None:
        headers["X-Gateway-Secret"] = sent
    async with running(empty) as app, http_client(app) as client:
        response = await client.get("/auth/verify", headers=headers)
    assert response.status_code == 403


# <<< part:gateway


def test_the_published_files_are_read_from_the_repository() -> None:
    assert any(Path(p.path).name.startswith(".env") for p in PUBLISHED)
    assert any(p.path.startswith("deploy/k8s/") for p in PUBLISHED)
    assert any(p.path.startswith("compose") for p in PUBLISHED)
