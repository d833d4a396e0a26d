"""A JSON request body read by a dependency, so a route decides when its body is read.

FastAPI reads a route's body (a parameter typed as a model) before it runs any dependency: an
unauthenticated caller could make the worker wait for a body that trickles in for the whole
body deadline, and only then learn that its token was missing. A route that declares
`body: Annotated[Model, Depends(json_body(Model))]` after `CurrentUser` has its token checked
first (FastAPI resolves dependencies in the order they are declared) and reads the body only
for a caller that may send one.

The answers are FastAPI's own: 422 with `loc` starting at "body" for a body that is missing,
not JSON (by its `Content-Type`, as FastAPI's strict content type), not an object, or invalid;
a client that leaves is starlette's ClientDisconnect (answered 499 by app/http/errors.py), and
HTTPExceptions raised while reading (the body deadline's 408) pass as they are.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.http.errors import UNPARSABLE_BODY

Model = TypeVar("Model", bound=BaseModel)

NOT_AN_OBJECT = {
    "loc": ("body",),
    "msg": "Input should be a valid dictionary or object to extract fields from",
    "type": "model_attributes_type",
}
MISSING = {"loc": ("body",), "msg": "Field required", "type": "missing"}


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency that reads the request's JSON body as `model`."""

    async def read(request: Request) -> Model:
        raw = await request.body()
        if not raw:
            raise RequestValidationError([MISSING])
        if not _is_json(request.headers.get("content-type")):
            raise RequestValidationError([NOT_AN_OBJECT])
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            issue = {"loc": ("body", exc.pos), "msg": "JSON decode error", "type": "json_invalid"}
            raise RequestValidationError([issue]) from None
        except (ValueError, RecursionError):
            # Not UTF-8 (UnicodeDecodeError), or nested deeper than the parser goes.
            raise RequestValidationError([UNPARSABLE_BODY.model_dump()]) from None
        if data is None:
            raise RequestValidationError([MISSING])
        if not isinstance(data, dict):
            raise RequestValidationError([NOT_AN_OBJECT])
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            issues = exc.errors(include_input=False, include_url=False)
            raise RequestValidationError(
                [{**issue, "loc": ("body", *issue["loc"])} for issue in issues]
            ) from None

    return read


def json_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The route's `openapi_extra`: the body it reads itself, as FastAPI would document it."""
    schema = {"schema": model.model_json_schema()}
    return {"requestBody": {"required": True, "content": {"application/json": schema}}}


def _is_json(content_type: str | None) -> bool:
    """application/json or application/<anything>+json, parameters allowed (FastAPI's rule)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
