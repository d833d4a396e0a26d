"""Request and response bodies of the accounts endpoints: strict (unknown fields refused) and
bounded. Usernames follow login's rules exactly (app/auth/schemas.py); one account per
`lower()`-folded name is the database's unique index."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.accounts.password_policy import PASSWORD_MAX_LENGTH
from app.auth.schemas import PASSWORD_MAX, Username
from utils.text_rules import REJECTED_CATEGORIES, require_utf8

EMAIL_MAX = 254  # RFC 5321's path limit, less the angle brackets
EMAIL_LOCAL_MAX = 64
TOKEN_MAX = 80  # `<user id>.<43 URL-safe characters>`


def normalise_email(value: str) -> str:
    """Trimmed and lower-case; one `@` between two non-empty parts without spaces or controls
    (the users_email_shape check of init.sql). Deliverability is what verification proves."""
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "@" in local:
        raise ValueError("must be an email address (name@domain)")
    if len(email) > EMAIL_MAX or len(local) > EMAIL_LOCAL_MAX:
        raise ValueError(f"must be at most {EMAIL_MAX} characters ({EMAIL_LOCAL_MAX} before @)")
    if any(ch.isspace() or unicodedata.category(ch) in REJECTED_CATEGORIES for ch in email):
        raise ValueError("must not contain spaces or control characters")
    return email


# The shape normalise_email accepts, documented in the OpenAPI schema (not enforced twice, so
# its own reasons stay the 422's): clients and schemathesis (`make fuzz`) then send addresses
# that reach the logic behind the field instead of its 422. Python's `\s` is what strip() and
# isspace() treat as white space.
EMAIL_SHAPE = r"^\s*[^@\s]+@[^@\s]+\s*$"
Email = Annotated[
    str,
    Field(min_length=3, max_length=EMAIL_MAX + 20, json_schema_extra={"pattern": EMAIL_SHAPE}),
    AfterValidator(normalise_email),
]
# Length is the policy's to judge (a 422 that says why); this only bounds the input.
NewPassword = Annotated[
    str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH), AfterValidator(require_utf8)
]
CurrentPassword = Annotated[
    str, Field(min_length=1, max_length=PASSWORD_MAX), AfterValidator(require_utf8)
]
Token = Annotated[
    str, Field(min_length=1, max_length=TOKEN_MAX, pattern=r"^[0-9]+\.[A-Za-z0-9_-]+$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupRequest(Strict):
    username: Username  # login's rules
    email: Email
    password: NewPassword


class AccountCreated(BaseModel):
    """The same body whether or not the address already had an account (docs/security.md)."""

    username: str
    email: str
    email_verified: bool = False
    detail: str = "Account created; a verification link was sent to the address"


class VerifyRequest(Strict):
    token: Token


class PasswordChangeRequest(Strict):
    current_password: CurrentPassword
    new_password: NewPassword


class PasswordResetRequest(Strict):
    email: Email


class PasswordResetConfirm(Strict):
    token: Token
    new_password: NewPassword


class DeleteAccountRequest(Strict):
    password: CurrentPassword


class Accepted(BaseModel):
    detail: str


class Account(BaseModel):
    username: str
    name: str
    email: str | None
    email_verified: bool
    role: Literal["user", "admin"]
    created_at: datetime


class AdminAccount(Account):
    id: int
    disabled: bool
    last_login_at: datetime | None
