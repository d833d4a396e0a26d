"""A JSON answer whose body never changes, serialised once at import.

A handler that returns a model lets FastAPI validate and serialise it on every request; for a
constant body that work is always the same (docs/benchmark.md, "the prebuilt hello body"). The
route keeps its `response_model`, so the OpenAPI contract is unchanged; a test checks that the
body validates against it.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


class ConstantJSON:
    def __init__(self, model: BaseModel, *, headers: dict[str, str] | None = None) -> None:
        self.model = model
        self.body = model.model_dump_json().encode()
        self.headers = headers or {}

    def response(self) -> Response:
        return Response(self.body, media_type="application/json", headers=self.headers)
