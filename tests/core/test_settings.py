"""Configuration: env file chosen by ENV_FILE, real variables win, production refuses
placeholders and hides its secrets."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import Settings, load_settings
from tests.production_settings import PRODUCTION, SECRET_MARK

# The secrets production must be given, by setting name.
SECRETS = [
    "database_url",
    "redis_url",
    "gateway_secret",  # part:gateway
]


def test_env_file_is_chosen_by_env_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("SESSION_TTL_SECONDS=123\nHTTP_PORT=9999\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.delenv("SESSION_TTL_SECONDS", raising=False)
    settings = load_settings()
    assert settings.session_ttl_seconds == 123
    assert settings.http_port == 9999


def test_real_environment_variables_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("SESSION_TTL_SECONDS=123\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.setenv("SESSION_TTL_SECONDS", "456")
    assert load_settings().session_ttl_seconds == 456


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = Settings.model_validate({})
    assert settings.api_port == 8000
    assert settings.http_port == 8080
    assert settings.session_ttl_seconds == 3600
    assert settings.environment == "development"


def test_shipped_env_files_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (".env", ".env.local"):
        monkeypatch.setenv("ENV_FILE", name)
        assert load_settings().environment == "development"


@pytest.mark.parametrize("secret", SECRETS)
def test_production_refuses_each_placeholder_secret_by_name(secret: str) -> None:
    values = {**PRODUCTION, secret: "CHANGE_ME_please"}
    with pytest.raises(ValidationError) as error:
        Settings.model_validate(values)
    assert secret.upper() in str(error.value)


def test_production_refuses_the_shipped_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_FILE", ".env.prod")
    for name in ("ENVIRONMENT", *(secret.upper() for secret in SECRETS)):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match=", ".join(secret.upper() for secret in SECRETS)):
        load_settings()


@pytest.mark.parametrize("secret", SECRETS)
def test_production_refuses_a_secret_left_at_its_development_default(secret: str) -> None:
    values = {k: v for k, v in PRODUCTION.items() if k != secret}
    with pytest.raises(ValidationError, match=secret.upper()):
        Settings.model_validate(values)


@pytest.mark.parametrize("env_file", [".env", ".env.local"])
def test_production_refuses_the_secrets_of_the_development_env_files(
    monkeypatch: pytest.MonkeyPatch, env_file: str
) -> None:
    monkeypatch.setenv("ENV_FILE", env_file)
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SEED_DEMO_USER", "false")
    for name in SECRETS:
        monkeypatch.delenv(name.upper(), raising=False)
    with pytest.raises(ValidationError, match=r"development secret.*DATABASE_URL"):
        load_settings()


def test_production_with_real_secrets_starts_without_docs() -> None:
    settings = Settings.model_validate(PRODUCTION)
    assert settings.is_production
    assert not settings.show_docs
    assert Settings.model_validate({**PRODUCTION, "docs_enabled": True}).show_docs


def test_production_refuses_seeding_the_demo_user() -> None:
    with pytest.raises(ValidationError, match="SEED_DEMO_USER"):
        Settings.model_validate({**PRODUCTION, "seed_demo_user": True})


def test_secrets_are_hidden_in_repr_and_errors() -> None:
    settings = Settings.model_validate(PRODUCTION)
    shown = repr(settings) + str(settings.model_dump())
    assert SECRET_MARK not in shown


def test_cors_origins_accept_a_comma_separated_list() -> None:
    settings = Settings.model_validate({"cors_origins": "https://a.example, https://b.example"})
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_pool_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="DB_POOL_MIN_SIZE"):
        Settings.model_validate({"db_pool_min_size": 20, "db_pool_max_size": 10})


def test_pgbouncer_without_a_direct_url_for_the_relay_is_refused() -> None:
    with pytest.raises(ValidationError, match="DATABASE_DIRECT_URL"):
        Settings.model_validate({"db_pgbouncer": True})


def test_relay_connects_to_the_direct_url_behind_pgbouncer_else_to_database_url() -> None:
    direct = "postgresql://app@db:5432/app"
    pooled = Settings.model_validate(
        {
            "database_url": "postgresql://app@pgbouncer:6432/app",
            "db_pgbouncer": True,
            "database_direct_url": direct,
        }
    )
    assert pooled.relay_database_url == direct
    assert Settings.model_validate({"database_url": direct}).relay_database_url == direct
