"""The JSON bodies of error answers (their OpenAPI schemas too)."""

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
