"""Handing one message to the SMTP server (aiosmtplib), as the settings say."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from app.core.settings import Settings


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # none | starttls | tls
    username: str
    password: str = field(repr=False)
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout_seconds=settings.smtp_timeout_seconds,
        )


async def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Raises aiosmtplib.SMTPException or OSError when the server did not take it."""
    await aiosmtplib.send(
        message,
        hostname=config.host,
        port=config.port,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        username=config.username or None,
        password=config.password or None,
        timeout=config.timeout_seconds,
    )
