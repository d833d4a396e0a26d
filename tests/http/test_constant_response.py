"""A constant JSON answer is its model serialised once: the body validates against the route's
`response_model`, and each response is a fresh object carrying the declared headers."""

from __future__ import annotations

import json

from app.api.v1.hello import HELLO, HelloV1
from app.http.cache_control import PUBLIC_SHORT


def test_the_prebuilt_body_is_the_model_and_validates_against_the_contract() -> None:
    body = bytes(HELLO.response().body)
    assert HelloV1.model_validate_json(body) == HELLO.model
    assert json.loads(body) == HELLO.model.model_dump()


def test_each_response_is_new_and_carries_the_declared_headers() -> None:
    first, second = HELLO.response(), HELLO.response()
    assert first is not second
    first.headers["X-Extra"] = "1"
    assert "x-extra" not in second.headers
    assert second.headers["cache-control"] == PUBLIC_SHORT
    assert second.media_type == "application/json"
