"""`delete-user` and `send-mail`, registered into `python -m app.cli`.

send-mail runs the same sender the API runs in its lifespan, for deployments that prefer a
separate process (MAIL_SENDER_ENABLED=false on the API); both may run at once, each claims the
rows it sends (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from app.accounts import service
from app.accounts.lifespan import build_accounts_state
from app.accounts.mailer import build_mail_sender
from app.accounts.tokens import OneTimeTokens
from app.core.logging_config import configure_logging
from app.core.settings import Settings, get_settings
from app.wiring.connections import open_pool, open_redis
from app.wiring.lifespan import Clients
from utils.database.psql import close_pool
from utils.redis.redis import close_redis


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    delete = subparsers.add_parser(
        "delete-user", help="delete an account, its sessions and cached profile at once"
    )
    delete.add_argument("username")
    delete.set_defaults(handler=delete_user_command)
    mail = subparsers.add_parser("send-mail", help="send queued mail (mail_outbox) over SMTP")
    mail.set_defaults(handler=send_mail_command)


async def _delete_user(settings: Settings, username: str) -> int | None:
    pool = await open_pool(settings)
    redis = open_redis(settings)
    try:
        state = build_accounts_state(Clients(settings=settings, pool=pool, redis=redis))
        return await service.delete_user_by_name(pool=pool, state=state, username=username)
    finally:
        await close_redis(redis)
        await close_pool(pool)


def delete_user_command(args: argparse.Namespace) -> int:
    user_id = asyncio.run(_delete_user(get_settings(), args.username))
    if user_id is None:
        print(f"error: no user {args.username!r}", file=sys.stderr)
        return 1
    print(f"deleted user {args.username!r} (id {user_id}); its sessions are gone")
    return 0


async def _send_mail(settings: Settings) -> None:
    redis = open_redis(settings)
    try:
        await build_mail_sender(settings, OneTimeTokens(redis)).run()
    finally:
        await close_redis(redis)


def send_mail_command(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level)

    async def supervise() -> None:
        task = asyncio.ensure_future(_send_mail(settings))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(supervise())
    return 0
