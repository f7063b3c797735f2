"""`CurrentCaller` (the user or machine client a token names, loaded from the database), roles, services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from azaion_server.auth.models import CallerDirectory, PasswordCheck, PasswordService
from azaion_server.deps import SessionDep, provide
from azaion_server.errors import Forbidden
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.vocabulary import Caller, Role

Callers = Annotated[CallerDirectory, Depends(provide(CallerDirectory))]
Passwords = Annotated[PasswordService, Depends(provide(PasswordService))]
PasswordChecks = Annotated[PasswordCheck, Depends(provide(PasswordCheck))]


def get_current_caller(claims: ClaimsDep, session: SessionDep, callers: Callers) -> Caller:
    """The caller of this request (a dependency)."""
    return callers.load(session, claims)


CurrentCaller = Annotated[Caller, Depends(get_current_caller)]


def require_roles(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only `roles` through (403 FORBIDDEN otherwise)."""
    allowed = frozenset(role.value for role in roles)

    def check(caller: CurrentCaller) -> Caller:
        if caller.role not in allowed:
            raise Forbidden()
        return caller

    return check


# The user and client administration routes are for ApiAdmins only.
ApiAdmin = Annotated[Caller, Depends(require_roles(Role.API_ADMIN))]
