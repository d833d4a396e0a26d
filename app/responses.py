"""Error bodies and their OpenAPI documentation (with headers, so a contract fuzzer checks
those too)."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: str
    errors: list[ValidationIssue]


class UnavailableBody(BaseModel):
    detail: str
    dependency: str


def _header(description: str, *, required: bool, type_: str = "string") -> dict[str, object]:
    return {"description": description, "required": required, "schema": {"type": type_}}


# Documented with their headers, so a contract fuzzer (make fuzz) checks those too.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    422: {"model": ValidationErrorBody, "description": "Invalid input"},
    503: {
        "model": UnavailableBody,
        "description": "PostgreSQL or Redis is unavailable, or (login) too many logins wait "
        "for the password hasher",
        "headers": {"Retry-After": _header("Seconds", required=True, type_="integer")},
    },
}
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "model": ErrorBody,
        "description": "Wrong credentials (login); missing, malformed, unknown or expired token",
        "headers": {"WWW-Authenticate": _header("`Bearer`", required=True)},
    },
    **ERROR_RESPONSES,
}
THROTTLED_RESPONSES: dict[int | str, dict[str, object]] = {
    429: {
        "model": ErrorBody,
        "description": "Too many failed logins for this username and address (the app sends "
        "Retry-After), or too many logins per second from one address (nginx)",
        "headers": {"Retry-After": _header("Seconds", required=False, type_="integer")},
    },
}
