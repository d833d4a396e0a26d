"""Sends the mail queued in `mail_outbox`, never on a request's path.

A request writes its mail row in the same statement as the change it reports, so a rolled-back
change sends nothing. The sender claims one due row at a time (`FOR UPDATE SKIP LOCKED`: the
senders of every worker share the queue, none sends a row another holds), mints the one-time
token the template needs, hands the message to the SMTP server, and stamps the row sent in the
same transaction. A failure keeps the row unsent and schedules the next attempt with capped
exponential backoff; nothing is ever dropped. A sender that dies after the SMTP server took a
message but before its commit sends it again (at least once; the newer token replaces the
older one).

Runs in each worker's lifespan (MAIL_SENDER_ENABLED) or as `python -m app.cli send-mail`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import asyncpg

from app.accounts.listening import ListenConfig, ListeningWorker
from app.accounts.mail_templates import TEMPLATES as MAIL_TEMPLATES
from app.accounts.mail_templates import Sender, compose
from app.accounts.smtp import SmtpConfig, send
from app.accounts.tokens import OneTimeTokens
from app.core.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL = "mail_outbox"  # init.sql's mail_outbox_notify trigger
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 3600.0
KEEP_SENT_SECONDS = 7 * 24 * 3600
PRUNE_EVERY_SECONDS = 600.0

CLAIM_SQL = """
SELECT id, template, user_id, recipient, params::text AS params, attempts
  FROM mail_outbox
 WHERE sent_at IS NULL AND next_attempt_at <= now()
 ORDER BY next_attempt_at, id
 LIMIT 1
   FOR UPDATE SKIP LOCKED
"""
SENT_SQL = "UPDATE mail_outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = $1"
RETRY_SQL = """
UPDATE mail_outbox
   SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + make_interval(secs => $3)
 WHERE id = $1
"""
PRUNE_SQL = """
DELETE FROM mail_outbox
 WHERE id IN (SELECT id FROM mail_outbox
               WHERE sent_at < now() - make_interval(secs => $1) LIMIT 1000)
"""

SendMessage = Callable[[EmailMessage], Awaitable[None]]


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of a mail that failed `attempts` times (>= 1)."""
    delay = min(RETRY_FIRST_SECONDS * float(2 ** min(attempts - 1, 20)), RETRY_MAX_SECONDS)
    jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 (not cryptography)
    return delay * jitter


class MailSender(ListeningWorker):
    channel = CHANNEL

    def __init__(
        self, config: ListenConfig, *, sender: Sender, tokens: OneTimeTokens, send: SendMessage
    ) -> None:
        super().__init__(config)
        self._sender = sender
        self._tokens = tokens
        self._send = send
        self._next_prune = 0.0

    async def work(self, conn: asyncpg.Connection) -> None:
        while await self.send_one(conn):
            pass
        if time.monotonic() >= self._next_prune:
            await conn.execute(PRUNE_SQL, float(KEEP_SENT_SECONDS))
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS

    async def send_one(self, conn: asyncpg.Connection) -> bool:
        """Send the oldest due mail; False when none is due."""
        async with conn.transaction():
            row = await conn.fetchrow(CLAIM_SQL)
            if row is None:
                return False
            try:
                await self._send(await self._compose(row))
            except Exception as exc:  # the row stays unsent; the cause is kept on it
                attempts = row["attempts"] + 1
                delay = retry_delay(attempts)
                error = f"{type(exc).__name__}: {exc}"[:500]
                await conn.execute(RETRY_SQL, row["id"], error, delay)
                logger.warning(
                    "mail %s (%s) not sent, attempt %d: %s; next try in %.0fs",
                    row["id"],
                    row["template"],
                    attempts,
                    error,
                    delay,
                )
                return True
            await conn.execute(SENT_SQL, row["id"])
            return True

    async def _compose(self, row: asyncpg.Record) -> EmailMessage:
        params: dict[str, Any] = json.loads(row["params"])
        template = MAIL_TEMPLATES[row["template"]]
        token = None
        if template.token is not None:
            token = await self._tokens.issue(template.token, row["user_id"])
        return compose(
            self._sender,
            row["template"],
            row["recipient"],
            {k: str(v) for k, v in params.items()},
            token,
        )


def build_mail_sender(settings: Settings, tokens: OneTimeTokens) -> MailSender:
    smtp = SmtpConfig.from_settings(settings)

    async def send_with_settings(message: EmailMessage) -> None:
        await send(smtp, message)

    return MailSender(
        ListenConfig.from_settings(
            settings, suffix="mail", poll_seconds=settings.mail_poll_interval_seconds
        ),
        sender=Sender(
            service_name=settings.service_name,
            address=settings.mail_from,
            public_base_url=settings.public_base_url,
        ),
        tokens=tokens,
        send=send_with_settings,
    )
