"""The mail sender: a mail whose send fails stays queued with its error and a later attempt,
and goes out once the SMTP server takes it; retries back off."""

from __future__ import annotations

import secrets
from email.message import EmailMessage

import asyncpg
import pytest

from app.accounts.listening import ListenConfig
from app.accounts.mail_templates import Sender
from app.accounts.mailer import RETRY_MAX_SECONDS, MailSender, retry_delay
from app.accounts.tokens import OneTimeTokens
from tests.accounts.conftest import next_mail
from tests.conftest import AppState
from tests.services import TestDatabase
from tools.devstack.mail_catcher import MailCatcher


async def refuse(message: EmailMessage) -> None:
    raise OSError("connection refused")


async def test_a_failed_send_keeps_the_mail_queued_and_a_later_attempt_sends_it(
    database: TestDatabase, state: AppState, mail: MailCatcher
) -> None:
    recipient = f"retry.{secrets.token_hex(5)}@example.com"
    failing = MailSender(
        ListenConfig(
            dsn=database.direct_app_url,
            application_name="test-mail",
            connect_timeout_seconds=2,
            poll_seconds=1,
        ),
        sender=Sender(service_name="Test", address="no-reply@example.com", public_base_url="x"),
        tokens=OneTimeTokens(state.redis),
        send=refuse,
    )
    conn = await asyncpg.connect(database.direct_app_url)
    try:
        # Queued and tried in one transaction: the app's own sender never sees it due.
        async with conn.transaction():
            mail_id = await conn.fetchval(
                "INSERT INTO mail_outbox (template, recipient, next_attempt_at)"
                " VALUES ('signup_attempt', $1, '2000-01-01') RETURNING id",
                recipient,
            )
            assert await failing.send_one(conn)
        row = await conn.fetchrow("SELECT * FROM mail_outbox WHERE id = $1", mail_id)
        assert row is not None
        assert row["sent_at"] is None
        assert row["attempts"] == 1
        assert row["last_error"] == "OSError: connection refused"
        assert row["next_attempt_at"] > row["created_at"]
        # Due again: the app's sender (its SMTP listener up) takes it.
        await conn.execute("UPDATE mail_outbox SET next_attempt_at = now() WHERE id = $1", mail_id)
        await conn.execute("NOTIFY mail_outbox")
        await next_mail(mail, recipient)
    finally:
        await conn.close()


@pytest.mark.parametrize("attempts", [1, 2, 5, 30])
def test_retries_back_off_exponentially_up_to_an_hour(attempts: int) -> None:
    expected = min(5.0 * 2 ** (attempts - 1), RETRY_MAX_SECONDS)
    assert expected * 0.8 <= retry_delay(attempts) <= expected * 1.2
