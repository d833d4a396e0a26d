"""POST /login (credentials in, `Authorization: Bearer <uuid>` out), POST /logout and
POST /logout/all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.auth import service
from app.auth.dependencies import AuthStateDep, CurrentUser, SessionsDep
from app.auth.exceptions import (
    AUTH_ERRORS,
    AccountDisabled,
    EmailNotVerified,
    HasherBusy,
    InvalidCredentials,
    LoginThrottled,
)
from app.auth.schemas import LoginRequest, TokenResponse
from app.http.cache_control import NO_STORE
from app.http.errors import COMMON_ERRORS, documented
from app.wiring.dependencies import PoolDep, SettingsDep
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
    responses=documented(
        *COMMON_ERRORS,
        InvalidCredentials,
        AccountDisabled,
        EmailNotVerified,
        LoginThrottled,
        HasherBusy,
    ),
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
    pool: PoolDep,
    auth: AuthStateDep,
    settings: SettingsDep,
) -> JSONResponse:
    token = await service.login(
        pool=pool,
        auth=auth,
        credentials=credentials,
        client=request.client.host if request.client else "unknown",
        client_gone=request.is_disconnected,
        require_verified_email=settings.email_verification_required,
    )
    lifetime = min(settings.session_ttl_seconds, settings.session_max_lifetime_seconds)
    return JSONResponse(
        TokenResponse(access_token=token, expires_in=lifetime).model_dump(),
        headers={AUTHORIZATION_HEADER: f"{BEARER_SCHEME} {token}", "Cache-Control": NO_STORE},
    )


LOGOUT_ERRORS = documented(*COMMON_ERRORS, *AUTH_ERRORS)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=LOGOUT_ERRORS)
async def logout(user: CurrentUser, sessions: SessionsDep) -> Response:
    await sessions.revoke(token=user.token, user_id=user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout/all", status_code=status.HTTP_204_NO_CONTENT, responses=LOGOUT_ERRORS)
async def logout_all(user: CurrentUser, sessions: SessionsDep) -> Response:
    await sessions.revoke_all(user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
