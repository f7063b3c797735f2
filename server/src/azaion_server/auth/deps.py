"""`CurrentCaller` (the user or machine client a token names, loaded from the database) and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from azaion_server.callers import Caller
from azaion_server.clients.entities import Client
from azaion_server.deps import SessionDep
from azaion_server.errors import Forbidden
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.users.entities import Role, User


def load_caller(session: Session, claims: TokenClaims) -> Caller:
    """The user or machine client verified `claims` name; InvalidToken when it is gone or disabled.

    The role is read from the database, not the token, so a role change or a deletion takes
    effect at once rather than when the token expires. The name must match too: ids are never
    reused, but a token must not outlive a rename either.
    """
    caller: Caller | None
    if claims.kind == "client":
        caller = session.get(Client, claims.subject_id)
        if caller is not None and not caller.enabled:
            caller = None
    else:
        caller = session.get(User, claims.subject_id)
    if caller is None or caller.identity != claims.unique_name:
        raise InvalidToken()
    return caller


def get_current_caller(claims: ClaimsDep, session: SessionDep) -> Caller:
    """The caller of this request (a dependency)."""
    return load_caller(session, claims)


CurrentCaller = Annotated[Caller, Depends(get_current_caller)]


def require_roles(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only `roles` through (403 FORBIDDEN otherwise)."""
    allowed = frozenset(role.value for role in roles)

    def check(caller: CurrentCaller) -> Caller:
        if caller.role not in allowed:
            raise Forbidden()
        return caller

    return check
