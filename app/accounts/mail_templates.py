"""The mails the accounts feature sends: a plain-text and an HTML part each, with the service's
name (SERVICE_NAME). Values are escaped for the HTML part; links carry the token in the URL
fragment, which browsers never send to a server (no token in access logs)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from string import Template

from app.accounts.tokens import TokenKind


@dataclass(frozen=True, slots=True)
class MailTemplate:
    subject: str
    text: str
    # The page a link points to under PUBLIC_BASE_URL, and the token it carries; None: no link.
    token: TokenKind | None = None
    page: str = ""


TEMPLATES: dict[str, MailTemplate] = {
    "verify_email": MailTemplate(
        subject="Confirm your email address for $service",
        text=(
            "Hello $username,\n\n"
            "confirm that this address belongs to your $service account:\n\n"
            "$link\n\n"
            "or send this token to POST /v1/accounts/verify:\n\n$token\n\n"
            "The link works once, for 24 hours. If you did not sign up, ignore this mail.\n"
        ),
        token=TokenKind.VERIFY_EMAIL,
        page="verify-email",
    ),
    "password_reset": MailTemplate(
        subject="Reset your $service password",
        text=(
            "Hello $username,\n\n"
            "someone (we hope you) asked to reset the password of your $service account:\n\n"
            "$link\n\n"
            "or send this token with a new password to POST /v1/accounts/password-reset/confirm:"
            "\n\n$token\n\n"
            "The link works once, for 30 minutes. If you did not ask, ignore this mail: your "
            "password stays as it is.\n"
        ),
        token=TokenKind.PASSWORD_RESET,
        page="reset-password",
    ),
    "signup_attempt": MailTemplate(
        subject="Someone tried to sign up to $service with your address",
        text=(
            "Hello,\n\n"
            "someone tried to create a $service account with this address, which already has "
            "one. No account was created.\n\n"
            "If it was you: log in with your account, or reset its password if you forgot it.\n"
            "If it was not you, nothing changed and you need not do anything.\n"
        ),
    ),
    "password_changed": MailTemplate(
        subject="Your $service password was changed",
        text=(
            "Hello $username,\n\n"
            "the password of your $service account was just changed, and the account's other "
            "sessions were logged out.\n\n"
            "If you did not change it, reset your password now and tell us.\n"
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Sender:
    service_name: str
    address: str
    public_base_url: str


def compose(
    sender: Sender, template_name: str, recipient: str, params: dict[str, str], token: str | None
) -> EmailMessage:
    template = TEMPLATES[template_name]
    values = {"service": sender.service_name, "username": "", **params}
    if template.token is not None and token is not None:
        values["token"] = token
        values["link"] = f"{sender.public_base_url.rstrip('/')}/{template.page}#token={token}"
    text = Template(template.text).substitute(values)
    message = EmailMessage()
    message["Subject"] = Template(template.subject).substitute(values)
    message["From"] = f"{sender.service_name} <{sender.address}>"
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.address.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(_as_html(text, sender.service_name, values.get("link")), subtype="html")
    return message


def _as_html(text: str, service: str, link: str | None) -> str:
    paragraphs = []
    for block in text.split("\n\n"):
        escaped = html.escape(block.strip()).replace("\n", "<br>")
        if link is not None and block.strip() == link:
            href = html.escape(link, quote=True)
            escaped = f'<a href="{href}">{html.escape(link)}</a>'
        paragraphs.append(f"<p>{escaped}</p>")
    title = html.escape(service)
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{''.join(paragraphs)}</body></html>\n"
    )
