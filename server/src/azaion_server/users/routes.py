"""User administration, for ApiAdmins: any failure answers 400 BAD_REQUEST and says no more.

Saying why a request failed (no such user, email taken, ...) would let a stolen admin token
map the user base; the seed's policy is to answer a bare 400. Authentication (401) and
authorisation (403) are not errors of the request and still answer as such.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from azaion_server.deps import ContextDep, SessionDep
from azaion_server.errors import ApiError, BadRequest, Forbidden, Unauthorized
from azaion_server.licenses import models as licenses
from azaion_server.licenses.schemas import LicenseInfo, LicenseUpdate
from azaion_server.users import models
from azaion_server.users.deps import ApiAdmin
from azaion_server.users.schemas import RoleUpdate, Success, UserCreate, UserDetail, UserId, UserOut


class OpaqueErrorsRoute(APIRoute):
    """A route whose every error but 401/403 becomes a bare 400 BAD_REQUEST."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def opaque(request: Request) -> Response:
            try:
                return await handler(request)
            except (Unauthorized, Forbidden):
                raise
            except (ApiError, RequestValidationError) as e:
                raise BadRequest("request rejected") from e

        return opaque


router = APIRouter(prefix="/users", tags=["users"], route_class=OpaqueErrorsRoute)


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, _admin: ApiAdmin, context: ContextDep, session: SessionDep) -> UserOut:
    """Create a user with a role; it has no licence until one is set."""
    user = models.create_user(
        session, context.passwords, email=body.email, password=body.password, role=body.role
    )
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
def reset_hardware(user_id: UserId, _admin: ApiAdmin, session: SessionDep) -> Success:
    """Unbind a user from its machine, so that it can use another one."""
    models.reset_hardware(session, user_id)
    return Success()


@router.delete("/{user_id}", response_model=Success)
def delete_user(user_id: UserId, _admin: ApiAdmin, session: SessionDep) -> Success:
    """Delete a user; its tokens answer 401 from now on."""
    models.delete_user(session, user_id)
    return Success()
