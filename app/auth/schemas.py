"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from utils.text_rules import reject_control_chars, require_utf8

USERNAME_MAX = 64
PASSWORD_MAX = 1024


# Login's rules; sign-up takes the same (app/accounts/schemas.py).
Username = Annotated[
    str,
    Field(min_length=1, max_length=USERNAME_MAX, pattern=r"^[^\s\x00-\x1f\x7f-\x9f]+$"),
    AfterValidator(reject_control_chars),
]


class LoginRequest(BaseModel):
    username: Username
    password: Annotated[
        str, Field(min_length=1, max_length=PASSWORD_MAX), AfterValidator(require_utf8)
    ]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type)
    expires_in: int
