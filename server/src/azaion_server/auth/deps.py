"""`CurrentUser` (the caller, loaded from the database) and role requirements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from azaion_server.deps import SessionDep
from azaion_server.errors import Forbidden
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.users.entities import Role, User


def get_current_user(claims: ClaimsDep, session: SessionDep) -> User:
    """The user a valid token names; 401 when that user was deleted.

    The role is read from the database, not the token, so a role change or a deletion takes
    effect at once rather than when the token expires.
    """
    user = session.get(User, claims.user_id)
    if user is None or user.email != claims.unique_name:
        raise InvalidToken()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets only `roles` through (403 FORBIDDEN otherwise)."""
    allowed = frozenset(role.value for role in roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden()
        return user

    return check
