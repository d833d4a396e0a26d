"""The helpers behind `make local` and `make docker-smoke`."""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
import pytest
from dotenv import dotenv_values

from app.core.settings import Settings
from tests.services import ADMIN_URL, as_app_user, with_database
from tools.devstack.image_contents import (
    ALLOWED_BY_SERVICE,
    ECHO_ALLOWED,  # part:gateway
    MAIL_CATCHER_FILES,
    findings,
    tooling_in,
)
from tools.devstack.nginx import ROOT
from tools.devstack.schema import prepare_database
from tools.devstack.smoke import throwaway_env


async def test_make_migrate_creates_the_database_and_a_second_run_applies_nothing() -> None:
    name = f"test_local_{secrets.token_hex(4)}"
    url = with_database(ADMIN_URL, name)
    try:
        first = await prepare_database(url, as_app_user(url))
        second = await prepare_database(url, as_app_user(url))
        assert "Applying: " in first
        assert "Applying" not in second
        conn = await asyncpg.connect(as_app_user(url))  # the app role logs in, reads
        try:
            assert await conn.fetchval("SELECT count(*) FROM users") == 0
        finally:
            await conn.close()
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def test_smoke_env_replaces_every_placeholder_so_production_settings_accept_it(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(throwaway_env(ROOT / ".env.prod", http_port=18080))
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    assert "CHANGE_ME" not in env_file.read_text()
    assert values["POSTGRES_PASSWORD"]
    assert values["HTTP_HOST_PORT"] == "18080"
    settings = Settings.model_validate({k.lower(): v for k, v in values.items()})
    assert settings.is_production
    # The production api mails the stack's catcher (its profile is on in the smoke run), and
    # its links start with the placeholder's replacement: https, a host of its own.
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_username) == ("mail", 1025, "")
    assert settings.public_base_url.startswith("https://")


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL"])
def test_smoke_env_keeps_urls_parseable_for_the_password_scripts(tmp_path: Path, name: str) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(throwaway_env(ROOT / ".env.prod", http_port=18080))
    url = dotenv_values(env_file)[name] or ""
    credentials = url.split("://", 1)[1].split("@", 1)[0]
    assert credentials.split(":", 1)[1].isalnum()  # URL-safe: the scripts do not decode


RUNTIME_FILES = ["main.py", "gunicorn.py.ini", "app/settings.py", "utils/healthcheck.py"]


def test_docker_smoke_accepts_an_image_of_runtime_files_only() -> None:
    assert tooling_in(RUNTIME_FILES) == []


def test_docker_smoke_names_each_piece_of_tooling_in_the_api_image() -> None:
    tooling = ["tools/domain/cli.py", "tests/conftest.py", "docs/api.md", "results/a.json", ".env"]
    assert tooling_in([*RUNTIME_FILES, *tooling]) == sorted(tooling)


# >>> part:gateway
def test_echo_image_may_carry_the_sample_service_but_no_other_tooling() -> None:
    files = [*RUNTIME_FILES, "tools/__init__.py", "tools/downstream/echo.py", "tools/domain/run.py"]
    assert tooling_in(files, ECHO_ALLOWED) == ["tools/domain/run.py"]


# <<< part:gateway
def test_mail_catcher_image_holds_the_catcher_alone() -> None:
    assert findings("mail", list(MAIL_CATCHER_FILES)) == []
    extra = ["main.py", "app/settings.py", "tools/devstack/local.py", "tests/conftest.py"]
    assert findings("mail", [*MAIL_CATCHER_FILES, *extra]) == sorted(extra)


def test_the_mail_catchers_files_are_what_its_module_imports() -> None:
    """The Dockerfile copies MAIL_CATCHER_FILES: the catcher must import nothing else of ours."""
    source = (ROOT / "tools/devstack/mail_catcher.py").read_text()
    ours = {line.split()[1] for line in source.splitlines() if line.startswith("from tools.")}
    assert ours == {"tools.devstack.processes"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    for path in MAIL_CATCHER_FILES:
        assert path in dockerfile
        assert f"!{path}" in dockerignore


def test_an_empty_listing_is_a_finding_for_every_image() -> None:
    for service in ALLOWED_BY_SERVICE:
        assert findings(service, []) == ["(no files listed)"]
