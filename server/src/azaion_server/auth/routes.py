"""`POST /login`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from azaion_server.auth import models
from azaion_server.auth.schemas import LoginRequest, TokenResponse
from azaion_server.deps import ContextDep, SessionDep

router = APIRouter(tags=["auth"])


@router.post(
    "/login",
    response_model=TokenResponse,
    responses={401: {"description": "INVALID_CREDENTIALS"}, 429: {"description": "throttled"}},
)
def login(body: LoginRequest, request: Request, context: ContextDep, session: SessionDep) -> TokenResponse:
    """Exchange email and password for a signed JWT."""
    token = models.login(
        session,
        passwords=context.passwords,
        throttle=context.throttle,
        tokens=context.tokens,
        email=body.email,
        password=body.password,
        address=request.client.host if request.client else None,
    )
    return TokenResponse(token=token)
