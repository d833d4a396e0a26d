"""What the accounts feature refuses a request with; routes list them with `documented(...)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.http.error_bodies import ValidationErrorBody, ValidationIssue
from app.http.errors import RETRY_AFTER_DOC, AppError, HeaderDoc
from app.http.rate_limit import TooManyRequests


class SignupDisabled(AppError):
    status_code = 403
    default_detail = "Sign-up is disabled"
    description = "SIGNUP_ENABLED is false: accounts are made by an operator"


class UsernameTaken(AppError):
    # The unique index forces this answer; a taken email is not revealed (docs/security.md).
    status_code = 409
    default_detail = "This username is taken"
    description = "An account of that username (in any case) exists"


class WeakPassword(AppError):
    """Refused by the password policy: a 422 shaped like any other invalid input."""

    status_code = 422
    default_detail = "Request validation failed"
    description = "Invalid input, or a password the policy refuses"
    model = ValidationErrorBody

    def __init__(self, reason: str, *, field: str) -> None:
        super().__init__()
        self.issue = ValidationIssue(
            loc=["body", field], msg=f"Password {reason}", type="password_policy"
        )

    def body(self) -> dict[str, Any]:
        return ValidationErrorBody(detail=self.detail, errors=[self.issue]).model_dump()


class InvalidAccountToken(AppError):
    status_code = 400
    default_detail = "Invalid or expired token"
    description = "The token is unknown, used, replaced by a newer one, or expired"


class WrongPassword(AppError):
    # Not 401: the session is fine, only the password given for this action is not.
    status_code = 403
    default_detail = "The password is wrong"
    description = "The account's current password was not given"


class AccountNotFound(AppError):
    status_code = 404
    default_detail = "No such account"


class AccountActionThrottled(TooManyRequests):
    default_detail = "Too many attempts; retry later"
    description = (
        "Too many attempts for this account or address (the app sends Retry-After), or too "
        "many requests from one client address (nginx)"
    )
    documented_headers: ClassVar[Mapping[str, HeaderDoc]] = {
        "Retry-After": {**RETRY_AFTER_DOC, "required": False}
    }
