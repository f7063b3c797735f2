"""`ClaimsDep`: the verified, unrevoked claims of the caller's bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from azaion_server.caller_state import prefetch
from azaion_server.deps import ContextDep, SessionDep
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.models import is_revoked
from azaion_server.jwt.schemas import TokenClaims

# auto_error=False: a missing header must answer our JSON 401, not FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="The token of `POST /login`")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_claims(context: ContextDep, session: SessionDep, credentials: BearerCredentials) -> TokenClaims:
    """Check the bearer token (signature, expiry, audience, issuer, claims, revocation)."""
    if credentials is None:
        raise InvalidToken()
    claims = context.tokens.decode(credentials.credentials)
    prefetch(session, claims)  # one query for what this check and the next ones read
    if is_revoked(session, claims.jti):
        raise InvalidToken()
    return claims


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]
