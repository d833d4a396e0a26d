"""Production mail settings: links in mails are https on a host people reach, the sender is an
address of a real domain, and SMTP credentials are real and never sent in clear text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.settings import Settings, load_settings
from tests.production_settings import PRODUCTION, production_environment


def refusal(**values: object) -> str:
    """The reasons production gives (without pydantic's echo of the input)."""
    with pytest.raises(ValidationError) as error:
        Settings.model_validate({**PRODUCTION, **values})
    return "\n".join(str(e["msg"]) for e in error.value.errors())


def test_production_accepts_real_mail_settings() -> None:
    settings = Settings.model_validate(PRODUCTION)
    assert settings.is_production
    assert "Zq7-a-real-smtp-password" not in repr(settings)


def test_production_needs_no_smtp_password_without_smtp_authentication() -> None:
    """A relay that trusts the network (no SMTP_USERNAME) needs no password."""
    relay = {"smtp_username": "", "smtp_password": "", "smtp_security": "none"}
    assert Settings.model_validate({**PRODUCTION, **relay}).is_production


@pytest.mark.parametrize("password", ["CHANGE_ME_SMTP_PASSWORD", "smtp-placeholder", "changeme"])
def test_production_refuses_a_placeholder_smtp_password(password: str) -> None:
    message = refusal(smtp_password=password)
    assert "placeholder" in message
    assert "SMTP_PASSWORD" in message
    assert password not in message  # the value is never shown


def test_production_refuses_an_empty_smtp_password_when_authentication_is_configured() -> None:
    assert "SMTP_PASSWORD is empty" in refusal(smtp_password="")


@pytest.mark.parametrize("password", ["dev-app-password", "check-only"])
def test_production_refuses_a_published_smtp_password(password: str) -> None:
    assert "development secret(s) in production: SMTP_PASSWORD" in refusal(smtp_password=password)


def test_production_refuses_smtp_credentials_over_an_unencrypted_connection() -> None:
    assert "SMTP_SECURITY=none" in refusal(smtp_security="none")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("smtp_host", "CHANGE_ME_SMTP_HOST"),
        ("smtp_username", "CHANGE_ME_SMTP_USERNAME"),
        ("mail_from", "no-reply@CHANGE_ME_MAIL_DOMAIN"),
        ("public_base_url", "https://CHANGE_ME_PUBLIC_HOST"),
    ],
)
def test_production_refuses_a_placeholder_in_the_mail_settings(name: str, value: str) -> None:
    assert f"placeholder value(s) in production: {name.upper()}" in refusal(**{name: value})


@pytest.mark.parametrize(
    "url",
    [
        "http://accounts.acme-corp.io",  # the tokens would travel in clear text
        "accounts.acme-corp.io",  # no scheme
        "https://",  # no host
        "https://localhost:8080",
        "https://LOCALHOST.",
        "https://app.localhost",
        "https://127.0.0.1",
        "https://127.0.0.53:8443",
        "https://[::1]:8080",
        "https://0.0.0.0",
        "https://169.254.169.254",
        "https://example.com",
        "https://accounts.example.org",
        "https://shop.example",
        "https://app.test",
        "https://x.invalid",
        "https://accounts.acme-corp.io/?next=1",
        "https://accounts.acme-corp.io/#x",
        "https://accounts.acme-corp.io:port",
    ],
)
def test_production_refuses_a_public_base_url_people_cannot_open_safely(url: str) -> None:
    assert "PUBLIC_BASE_URL" in refusal(public_base_url=url)


def test_production_refuses_the_development_public_base_url() -> None:
    """The default (http://localhost:8080) is `make local`'s and the compose dev stack's."""
    values = {k: v for k, v in PRODUCTION.items() if k != "public_base_url"}
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL must start with https://"):
        Settings.model_validate(values)


@pytest.mark.parametrize(
    "url",
    [
        "https://accounts.acme-corp.io",
        "https://acme-corp.io/accounts/",
        "https://accounts.acme-corp.io:8443",
        "https://203.0.113.7",
        "https://10.20.30.40",  # an intranet's service is still reached by its readers
    ],
)
def test_production_accepts_an_https_public_base_url_on_a_real_host(url: str) -> None:
    assert Settings.model_validate({**PRODUCTION, "public_base_url": url}).is_production


@pytest.mark.parametrize(
    "sender", ["no-reply@localhost", "no-reply@example.com", "Team <team@mail.example.org>", ""]
)
def test_production_refuses_a_sender_address_of_a_reserved_domain(sender: str) -> None:
    assert "MAIL_FROM" in refusal(mail_from=sender)


def test_development_accepts_the_local_mail_settings() -> None:
    """make local and the compose dev stack: http://localhost links, a catcher, no TLS."""
    settings = Settings.model_validate({})
    assert settings.public_base_url == "http://localhost:8080"
    assert settings.smtp_security == "none"


def test_the_shipped_production_template_refuses_each_mail_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """.env.prod's mail settings are placeholders that production refuses, by name."""
    monkeypatch.setenv("ENV_FILE", ".env.prod")
    for name, value in production_environment().items():
        monkeypatch.setenv(name, value)
    for name in ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "MAIL_FROM", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as error:
        load_settings()
    refused = str(error.value)
    for name in ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "MAIL_FROM", "PUBLIC_BASE_URL"):
        assert name in refused
