"""The accounts endpoints, mounted under the API versions: `router` (/accounts, for everyone)
and `admin_router` (/admin/accounts, the admin role only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.accounts import service
from app.accounts.dependencies import AccountsDep
from app.accounts.exceptions import (
    AccountActionThrottled,
    AccountNotFound,
    InvalidAccountToken,
    SignupDisabled,
    UsernameTaken,
    WeakPassword,
    WrongPassword,
)
from app.accounts.schemas import (
    Accepted,
    Account,
    AccountCreated,
    AdminAccount,
    DeleteAccountRequest,
    PasswordChangeRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    SignupRequest,
    VerifyRequest,
)
from app.auth.dependencies import CurrentUser, HasherDep, SessionsDep
from app.auth.exceptions import AUTH_ERRORS, Forbidden, HasherBusy
from app.auth.roles import require_role
from app.http.cache_control import NO_STORE
from app.http.errors import COMMON_ERRORS, documented
from app.wiring.dependencies import PoolDep, SettingsDep

router = APIRouter(prefix="/accounts", tags=["accounts"])

NO_CONTENT = status.HTTP_204_NO_CONTENT
RESET_ACCEPTED = Accepted(detail="If an account has this address, a reset link is on its way to it")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountCreated,
    responses=documented(
        *COMMON_ERRORS,
        SignupDisabled,
        UsernameTaken,
        WeakPassword,
        AccountActionThrottled,
        HasherBusy,
    ),
)
async def sign_up(
    body: SignupRequest,
    response: Response,
    pool: PoolDep,
    hasher: HasherDep,
    accounts: AccountsDep,
    settings: SettingsDep,
) -> AccountCreated:
    """Create an account; a verification link goes to the address. A taken address gets the
    same answer, and its owner a notice instead (docs/security.md)."""
    if not settings.signup_enabled:
        raise SignupDisabled
    response.headers["Cache-Control"] = NO_STORE
    return await service.signup(pool=pool, hasher=hasher, state=accounts, request=body)


@router.post(
    "/verify",
    status_code=NO_CONTENT,
    responses=documented(*COMMON_ERRORS, InvalidAccountToken, AccountActionThrottled),
)
async def verify_email(body: VerifyRequest, pool: PoolDep, accounts: AccountsDep) -> Response:
    """Confirm the address with the token from the verification mail (once, within 24 h)."""
    await service.verify_email(pool=pool, state=accounts, token=body.token)
    return Response(status_code=NO_CONTENT)


ME_ERRORS = (*COMMON_ERRORS, *AUTH_ERRORS)


@router.get("/me", response_model=Account, responses=documented(*ME_ERRORS))
async def me(user: CurrentUser, pool: PoolDep) -> Account:
    """The caller's account, with the state of its email verification."""
    return await service.get_account(pool=pool, user=user)


@router.post(
    "/me/verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=documented(*ME_ERRORS, AccountActionThrottled),
)
async def resend_verification(user: CurrentUser, pool: PoolDep, accounts: AccountsDep) -> Accepted:
    """Send a new verification link (the older one stops working); nothing when verified."""
    await service.resend_verification(pool=pool, state=accounts, user=user)
    return Accepted(detail="If the address is unverified, a new link is on its way")


@router.post(
    "/me/password",
    status_code=NO_CONTENT,
    responses=documented(
        *ME_ERRORS, WrongPassword, WeakPassword, AccountActionThrottled, HasherBusy
    ),
)
async def change_password(
    body: PasswordChangeRequest,
    user: CurrentUser,
    pool: PoolDep,
    hasher: HasherDep,
    sessions: SessionsDep,
    accounts: AccountsDep,
) -> Response:
    """Change the password; every other session of the account ends, this one stays."""
    await service.change_password(
        pool=pool,
        hasher=hasher,
        sessions=sessions,
        state=accounts,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=NO_CONTENT)


@router.delete(
    "/me",
    status_code=NO_CONTENT,
    responses=documented(*ME_ERRORS, WrongPassword, AccountActionThrottled, HasherBusy),
)
async def delete_account(
    body: DeleteAccountRequest,
    user: CurrentUser,
    pool: PoolDep,
    hasher: HasherDep,
    accounts: AccountsDep,
) -> Response:
    """Delete the account for good; every session ends at once."""
    await service.delete_account(
        pool=pool, hasher=hasher, state=accounts, user=user, password=body.password
    )
    return Response(status_code=NO_CONTENT)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=documented(*COMMON_ERRORS, AccountActionThrottled),
)
async def request_password_reset(
    body: PasswordResetRequest, pool: PoolDep, accounts: AccountsDep
) -> Accepted:
    """Mail a reset link (30 min, once) if an account has the address: the same answer either
    way."""
    await service.request_password_reset(pool=pool, state=accounts, email=body.email)
    return RESET_ACCEPTED


@router.post(
    "/password-reset/confirm",
    status_code=NO_CONTENT,
    responses=documented(
        *COMMON_ERRORS, InvalidAccountToken, WeakPassword, AccountActionThrottled, HasherBusy
    ),
)
async def reset_password(
    body: PasswordResetConfirm,
    pool: PoolDep,
    hasher: HasherDep,
    sessions: SessionsDep,
    accounts: AccountsDep,
) -> Response:
    """Set a new password with the mailed token; every session of the account ends."""
    await service.reset_password(
        pool=pool,
        hasher=hasher,
        sessions=sessions,
        state=accounts,
        token=body.token,
        new_password=body.new_password,
    )
    return Response(status_code=NO_CONTENT)


admin_router = APIRouter(
    prefix="/admin/accounts",
    tags=["admin"],
    dependencies=[Depends(require_role("admin"))],
    responses=documented(*COMMON_ERRORS, *AUTH_ERRORS, Forbidden),
)


@admin_router.get("", response_model=list[AdminAccount])
async def list_accounts(
    pool: PoolDep,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[AdminAccount]:
    """Accounts in id order, `after_id` pages; `q` matches part of a username or address."""
    return await service.list_accounts(pool=pool, query=q, after_id=after_id, limit=limit)


UserIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@admin_router.post(
    "/{user_id}/disable", status_code=NO_CONTENT, responses=documented(AccountNotFound)
)
async def disable_account(user_id: UserIdPath, pool: PoolDep, accounts: AccountsDep) -> Response:
    """The account can no longer log in, and its sessions end at once."""
    await service.set_disabled(pool=pool, state=accounts, user_id=user_id, disabled=True)
    return Response(status_code=NO_CONTENT)


@admin_router.post(
    "/{user_id}/enable", status_code=NO_CONTENT, responses=documented(AccountNotFound)
)
async def enable_account(user_id: UserIdPath, pool: PoolDep, accounts: AccountsDep) -> Response:
    await service.set_disabled(pool=pool, state=accounts, user_id=user_id, disabled=False)
    return Response(status_code=NO_CONTENT)
