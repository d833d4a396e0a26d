"""Operator commands: `python -m app.cli create-user USERNAME [--name NAME] [--admin]`.

The password is read from a prompt, or from stdin when stdin is not a terminal; never from
argv, where it would land in shell history and `ps`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import ValidationError

from app.accounts.cli import register as register_account_commands
from app.auth.accounts import create_user
from app.auth.exceptions import DuplicateUser
from app.auth.passwords import PasswordHasherService
from app.auth.schemas import LoginRequest
from app.core.settings import get_settings
from app.events.cli import register as register_event_commands  # part:events
from app.user.schemas import clean_name
from app.wiring.connections import open_pool
from utils.database.psql import close_pool


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise SystemExit("error: passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _create_user(username: str, password: str, name: str, role: str = "user") -> int:
    settings = get_settings()
    pool = await open_pool(settings)
    try:
        return await create_user(
            pool=pool,
            hasher=PasswordHasherService(settings),
            username=username,
            password=password,
            name=name,
            role=role,
        )
    finally:
        await close_pool(pool)


# ASVS V2.1.1: at least 12 characters for passwords chosen by people.
MIN_PASSWORD_LENGTH = 12


def create_user_command(args: argparse.Namespace) -> int:
    password = read_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        print(
            f"error: the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr
        )
        return 1
    try:
        LoginRequest(username=args.username, password=password)
        name = clean_name(args.name) if args.name else ""
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"error: invalid input: {problems}", file=sys.stderr)  # never echoes the password
        return 1
    except ValueError as exc:
        print(f"error: invalid name: {exc}", file=sys.stderr)
        return 1
    try:
        role = "admin" if args.admin else "user"
        user_id = asyncio.run(_create_user(args.username, password, name, role))
    except DuplicateUser:
        print(f"error: user {args.username!r} already exists", file=sys.stderr)
        return 1
    print(f"created {'admin' if args.admin else 'user'} {args.username!r} (id {user_id})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create a user (password from prompt/stdin)")
    create.add_argument("username")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--admin", action="store_true", help="give the account the admin role")
    create.set_defaults(handler=create_user_command)
    register_event_commands(commands)  # part:events
    register_account_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
