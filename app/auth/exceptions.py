"""What the auth feature refuses a request with. Rendered by app/http/errors.py; routes list
them with `documented(...)`, so their OpenAPI entries come from here too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from app.http.errors import (
    AppError,
    ClientDisconnected,
    HeaderDoc,
    ServiceUnavailable,
    header_doc,
)
from constants import BEARER_SCHEME

_WWW_AUTHENTICATE = {"WWW-Authenticate": BEARER_SCHEME}
_WWW_AUTHENTICATE_DOC = {"WWW-Authenticate": header_doc("`Bearer`", required=True)}


class Unauthorized(AppError):
    status_code = 401
    default_detail = "Not authenticated"
    description = "Missing, malformed, unknown or expired token"
    response_headers = _WWW_AUTHENTICATE
    documented_headers = _WWW_AUTHENTICATE_DOC


class InvalidToken(Unauthorized):
    """The token is not (or no longer) a live session of an existing account."""

    default_detail = "Invalid or expired token"


class InvalidCredentials(Unauthorized):
    # One body for unknown user and wrong password: nothing tells which one it was.
    default_detail = "Invalid username or password"
    description = "Wrong username or password"


class AccountDisabled(AppError):
    # Said only after the password was right: it tells nothing to someone guessing.
    status_code = 403
    default_detail = "This account is disabled"
    description = "The password was right but an administrator disabled the account"


class EmailNotVerified(AppError):
    status_code = 403
    default_detail = "Verify your email address first (POST /v1/accounts/verify)"
    description = (
        "The password was right but EMAIL_VERIFICATION_REQUIRED and the address is unverified"
    )


class Forbidden(AppError):
    status_code = 403
    default_detail = "Not allowed for your role"
    description = "The caller's role may not use this endpoint"


class LoginThrottled(AppError):
    status_code = 429
    default_detail = "Too many failed login attempts; retry later"
    description = (
        "Too many failed logins for this username and address (the app sends Retry-After), "
        "or too many logins per second from one address (nginx)"
    )
    documented_headers: ClassVar[Mapping[str, HeaderDoc]] = {
        "Retry-After": header_doc("Seconds", required=False, type_="integer")
    }

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class HasherBusy(ServiceUnavailable):
    """The verification would wait longer than allowed for a hashing slot: shed it."""

    default_detail = "Too many logins in progress; retry shortly"
    description = "Too many logins wait for the password hasher"
    dependency = "password-hasher"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after


class HashingAbandoned(ClientDisconnected):
    """The client left while its verification waited for a slot: nobody would get the answer."""


class DuplicateUser(Exception):
    """An account of that name (in any case) exists already."""


# Every route behind `CurrentUser` can answer these.
AUTH_ERRORS: tuple[type[AppError], ...] = (Unauthorized, InvalidToken)
