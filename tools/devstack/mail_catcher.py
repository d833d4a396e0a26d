"""A local SMTP listener (aiosmtpd) that keeps every message it is sent: `make local` points the
app's mail at it, and tests read what the app sent from it. Nothing is relayed anywhere.

Each message is kept in memory, written to `folder` as `<time>-<n>.eml` when a folder is
given, and announced by `announce` in one line (`make local` prints the link it carries). The
compose dev stack runs the same module as its `mail` service (the Dockerfile's `mail-catcher`
target), writing to the mounted run/mail/:

    python -m tools.devstack.mail_catcher --port 1025 --folder run/mail
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller

from tools.devstack.processes import free_port

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)

LINK = re.compile(r"https?://\S+#token=[0-9]+\.[A-Za-z0-9_-]+")
TOKEN = re.compile(r"#token=([0-9]+\.[A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else cast(EmailMessage, body).get_content()

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    @property
    def link(self) -> str | None:
        match = LINK.search(self.text)
        return match.group(0) if match else None

    @property
    def token(self) -> str | None:
        match = TOKEN.search(self.text)
        return match.group(1) if match else None

    def summary(self) -> str:
        return f"mail to {', '.join(self.recipients)}: {self.subject}" + (
            f" -> {self.link}" if self.link else ""
        )


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self._catcher.keep(Mail(tuple(envelope.rcpt_tos), message), bytes(envelope.content))
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        folder: Path | None = None,
        announce: Callable[[Mail], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._folder = folder
        self._announce = announce
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)

    def start(self) -> MailCatcher:
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def keep(self, mail: Mail, raw: bytes) -> None:
        with self._lock:
            self._mails.append(mail)
            count = len(self._mails)
        if self._folder is not None:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{count}.eml"
            try:
                (self._folder / name).write_bytes(raw)
            except OSError as exc:
                # A folder it may not write (a mount owned by another user) loses the file, not
                # the message: it is still kept, announced and accepted.
                print(f"mail not written to {self._folder}/: {exc}", flush=True)
        if self._announce is not None:
            self._announce(mail)

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def to(self, recipient: str) -> list[Mail]:
        return [mail for mail in self.mails if recipient in mail.recipients]


def main() -> None:
    parser = argparse.ArgumentParser(description="a local SMTP listener that keeps every mail")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("run/mail"))
    args = parser.parse_args()
    catcher = MailCatcher(
        host=args.host,
        port=args.port,
        folder=args.folder,
        announce=lambda mail: print(mail.summary(), flush=True),
    ).start()
    print(f"catching mail on {args.host}:{args.port}, kept in {args.folder}/", flush=True)
    # SIGTERM (`docker compose stop`) stops it like Ctrl-C does.
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        catcher.stop()


if __name__ == "__main__":
    main()
