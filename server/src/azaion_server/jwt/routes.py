"""`POST /logout`: revoke the caller's token."""

from __future__ import annotations

from fastapi import APIRouter

from azaion_server.deps import SessionDep
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.jwt.models import revoke
from azaion_server.jwt.schemas import LogoutResponse

router = APIRouter(tags=["auth"])


@router.post("/logout", response_model=LogoutResponse)
def logout(claims: ClaimsDep, session: SessionDep) -> LogoutResponse:
    """Revoke the token this request carries; it answers 401 from now on."""
    revoke(session, claims)
    return LogoutResponse()
