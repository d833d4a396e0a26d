"""The accounts feature's state for the app's life (password policy, one-time tokens, limits,
the Redis clean-up of a removed account) and its two background loops: the revocation listener
(always) and the mail sender (MAIL_SENDER_ENABLED)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from app.accounts.limits import AccountLimits
from app.accounts.mailer import build_mail_sender
from app.accounts.password_policy import PasswordPolicy
from app.accounts.revocations import AccountCleaner, build_revocation_listener
from app.accounts.tokens import OneTimeTokens
from app.auth.sessions import SessionStore
from app.wiring.lifespan import Clients, Component


@dataclass(frozen=True, slots=True)
class AccountsState:
    policy: PasswordPolicy
    tokens: OneTimeTokens
    limits: AccountLimits
    cleaner: AccountCleaner


def build_accounts_state(clients: Clients) -> AccountsState:
    settings, redis = clients.settings, clients.redis
    tokens = OneTimeTokens(redis)
    sessions = SessionStore(
        redis,
        ttl_seconds=settings.session_ttl_seconds,
        max_lifetime_seconds=settings.session_max_lifetime_seconds,
    )
    return AccountsState(
        policy=PasswordPolicy(min_length=settings.password_min_length),
        tokens=tokens,
        limits=AccountLimits(redis),
        cleaner=AccountCleaner(redis=redis, sessions=sessions, tokens=tokens),
    )


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def open_accounts(clients: Clients) -> AsyncIterator[AccountsState]:
    state = build_accounts_state(clients)
    listener = build_revocation_listener(clients.settings, state.cleaner)
    task = asyncio.create_task(listener.run(), name="account-revocations")
    try:
        yield state
    finally:
        await _stop(task)


@asynccontextmanager
async def run_mail_sender(clients: Clients) -> AsyncIterator[asyncio.Task[None] | None]:
    task = None
    if clients.settings.mail_sender_enabled:
        sender = build_mail_sender(clients.settings, OneTimeTokens(clients.redis))
        task = asyncio.create_task(sender.run(), name="mail-sender")
    try:
        yield task
    finally:
        await _stop(task)


COMPONENT = Component(name="accounts", open=open_accounts)
MAIL_COMPONENT = Component(name="mail_sender", open=run_mail_sender)
