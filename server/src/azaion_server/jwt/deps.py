"""`ClaimsDep`: the verified, unrevoked claims of the caller's bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from azaion_server.deps import SessionDep, provide
from azaion_server.jwt.models import TokenService, check_token
from azaion_server.jwt.schemas import TokenClaims

# auto_error=False: a missing header must answer our JSON 401, not FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="The token of `POST /login`")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Tokens = Annotated[TokenService, Depends(provide(TokenService))]


def get_claims(tokens: Tokens, session: SessionDep, credentials: BearerCredentials) -> TokenClaims:
    """Check the bearer token (signature, expiry, audience, issuer, claims, revocation)."""
    return check_token(session, tokens, credentials.credentials if credentials is not None else None)


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]
