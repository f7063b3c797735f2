"""`POST /logout`: revoke the caller's token."""

from __future__ import annotations

from fastapi import APIRouter

from azaion_server.deps import Audit, ClientAddress, SessionDep
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.jwt.models import revoke
from azaion_server.jwt.schemas import LogoutResponse

router = APIRouter(tags=["auth"])


@router.post("/logout", response_model=LogoutResponse)
def logout(claims: ClaimsDep, address: ClientAddress, audit: Audit, session: SessionDep) -> LogoutResponse:
    """Revoke the token this request carries; it answers 401 from now on."""
    audit.record(
        session,
        "logout",
        actor=claims.nameid,
        actor_name=claims.unique_name,
        address=address,
        detail=claims.jti,
    )
    revoke(session, claims)
    return LogoutResponse()
