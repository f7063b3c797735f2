"""`POST /login`, and user administration for ApiAdmins (any failure answers a bare 400)."""

from __future__ import annotations

from fastapi import APIRouter

from azaion_server.auth.deps import ApiAdmin, PasswordChecks, Passwords
from azaion_server.auth.routes import OpaqueErrorsRoute
from azaion_server.auth.schemas import Success
from azaion_server.deps import Changes, ClientAddress, SessionDep
from azaion_server.jwt.deps import LoginKey, Tokens
from azaion_server.licenses import models as licenses
from azaion_server.licenses.schemas import LicenseInfo, LicenseUpdate
from azaion_server.users import models
from azaion_server.users.schemas import (
    LoginRequest,
    RoleUpdate,
    TokenResponse,
    UserCreate,
    UserDetail,
    UserId,
    UserOut,
)

router = APIRouter(prefix="/users", tags=["users"], route_class=OpaqueErrorsRoute)
auth_router = APIRouter(tags=["auth"])


@auth_router.post(
    "/login",
    response_model=TokenResponse,
    responses={401: {"description": "INVALID_CREDENTIALS"}, 429: {"description": "throttled"}},
)
def login(
    body: LoginRequest,
    address: ClientAddress,
    check: PasswordChecks,
    tokens: Tokens,
    session: SessionDep,
    jkt: LoginKey,
) -> TokenResponse:
    """Exchange email and password for a signed JWT; with a `DPoP` proof, one bound to its key."""
    token = models.login(
        session,
        check=check,
        tokens=tokens,
        email=body.email,
        password=body.password,
        address=address,
        jkt=jkt,
    )
    return TokenResponse(token=token)


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, _admin: ApiAdmin, passwords: Passwords, session: SessionDep) -> UserOut:
    """Create a user with a role; it has no licence until one is set."""
    user = models.create_user(session, passwords, email=body.email, password=body.password, role=body.role)
    return UserOut.model_validate(user)


@router.get("", response_model=list[UserDetail])
def list_users(_admin: ApiAdmin, session: SessionDep) -> list[UserDetail]:
    """Every user, with whether it is bound to a machine and its licence."""
    return models.list_users(session)


@router.put("/{user_id}/role", response_model=UserOut)
def set_role(user_id: UserId, body: RoleUpdate, _admin: ApiAdmin, session: SessionDep) -> UserOut:
    """Change a user's role (effective at once, even for tokens already issued)."""
    return UserOut.model_validate(models.set_role(session, user_id, body.role))


@router.put("/{user_id}/license", response_model=LicenseInfo)
def set_license(user_id: UserId, body: LicenseUpdate, _admin: ApiAdmin, session: SessionDep) -> LicenseInfo:
    """Create or replace a user's licence: plan, expiry and the folders it may read."""
    user = models.get_user(session, user_id)
    return licenses.info(licenses.set_license(session, user, body))


@router.delete("/{user_id}/hardware", response_model=Success)
def reset_hardware(user_id: UserId, _admin: ApiAdmin, changes: Changes, session: SessionDep) -> Success:
    """Unbind a user from its machine, so that it can use another one."""
    models.reset_hardware(session, changes, user_id)
    return Success()


@router.delete("/{user_id}", response_model=Success)
def delete_user(user_id: UserId, _admin: ApiAdmin, session: SessionDep) -> Success:
    """Delete a user; its tokens answer 401 from now on."""
    models.delete_user(session, user_id)
    return Success()
