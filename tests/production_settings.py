"""Settings production accepts: real-looking secrets, links on an https host people reach, a
sender of a real domain and SMTP with authentication over STARTTLS. A test of what production
refuses changes one value of these."""

from __future__ import annotations

# Every secret below starts with it, so a test can tell that none is shown.
SECRET_MARK = "Zq7-"

PRODUCTION: dict[str, str | int] = {
    "environment": "production",
    "database_url": "postgresql://app_user:Zq7-real-db-pass@db:5432/app",
    "redis_url": "redis://:Zq7-real-redis-pass@redis:6379/0",
    "gateway_secret": "Zq7-a-real-gateway-secret-of-at-least-32-chars",  # part:gateway
    "public_base_url": "https://accounts.acme-corp.io",
    "mail_from": "Acme <no-reply@acme-corp.io>",
    "smtp_host": "smtp.acme-corp.io",
    "smtp_port": 587,
    "smtp_security": "starttls",
    "smtp_username": "mailer",
    "smtp_password": "Zq7-a-real-smtp-password",
}


def production_environment(**overrides: str) -> dict[str, str]:
    """PRODUCTION as environment variables, with `overrides` (by variable name)."""
    return {key.upper(): str(value) for key, value in PRODUCTION.items()} | overrides
