"""POST /login: JSON or form credentials in, `Authorization: Bearer <uuid>` out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.auth import login_service
from app.auth.schemas import LoginRequest, TokenResponse
from app.caching import NO_STORE
from app.dependencies import StateDep
from app.responses import AUTH_RESPONSES, THROTTLED_RESPONSES
from constants import AUTHORIZATION_HEADER, BEARER_SCHEME

router = APIRouter(tags=["auth"])

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LOGIN_BODY_SCHEMA = LoginRequest.model_json_schema()


async def read_credentials(request: Request) -> LoginRequest:
    """Accept JSON (API clients) and form fields (the Authorize button of /docs)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in FORM_TYPES:
            form = await request.form()
            data: object = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            data = await request.json()
        return LoginRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
    except (ValueError, RecursionError):
        # RecursionError: json.loads on deeply nested arrays or objects ('[' * 5000).
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Body must be a JSON object", "type": "json_invalid"}]
        ) from None


@router.post(
    "/login",
    response_model=TokenResponse,
    responses={**AUTH_RESPONSES, **THROTTLED_RESPONSES},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": LOGIN_BODY_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": LOGIN_BODY_SCHEMA},
            },
        }
    },
)
async def login(
    request: Request,
    credentials: Annotated[LoginRequest, Depends(read_credentials)],
    state: StateDep,
) -> JSONResponse:
    token = await login_service.login(
        pool=state.pool,
        hasher=state.hasher,
        sessions=state.sessions,
        throttle=state.throttle,
        username=credentials.username,
        password=credentials.password,
        client=request.client.host if request.client else "unknown",
        client_gone=request.is_disconnected,
    )
    settings = state.settings
    lifetime = min(settings.session_ttl_seconds, settings.session_max_lifetime_seconds)
    body = TokenResponse(access_token=token, expires_in=lifetime)
    return JSONResponse(
        body.model_dump(),
        headers={AUTHORIZATION_HEADER: f"{BEARER_SCHEME} {token}", "Cache-Control": NO_STORE},
    )
